import { describe, expect, it } from 'vitest';
import { blockedAddressRule, blockedNameRule } from '../../src/runtime/fetch-guard/ip-rules.js';

describe('blockedAddressRule', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.5.4', 'private'],
    ['192.168.1.1', 'private'],
    ['::ffff:192.168.1.1', 'private'],
    ['169.254.169.254', 'metadata-endpoint'],
    ['::ffff:169.254.169.254', 'metadata-endpoint'],
    ['169.254.1.1', 'link-local'],
    ['fe80::1', 'link-local'],
    ['100.64.0.1', 'carrier-grade-nat'],
    ['100.100.100.200', 'metadata-endpoint'],
    ['fd00:ec2::254', 'metadata-endpoint'],
    ['fc00::1', 'unique-local'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'multicast'],
    ['ff02::1', 'multicast'],
    ['::7f00:1', 'embedded-ipv4'],
    ['::a00:1', 'embedded-ipv4'],
    ['64:ff9b::7f00:1', 'embedded-ipv4'],
    ['2002:7f00:1::1', 'embedded-ipv4'],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'embedded-ipv4'],
    ['198.18.0.1', 'reserved'],
    ['192.0.0.192', 'metadata-endpoint'],
  ])('blocks %s as %s', (address, rule) => {
    expect(blockedAddressRule(address, false)).toBe(rule);
  });

  it.each(['8.8.8.8', '93.184.216.34', '2606:4700:4700::1111', '::ffff:8.8.8.8'])(
    'allows the public address %s',
    (address) => {
      expect(blockedAddressRule(address, false)).toBeNull();
    },
  );

  it('allows loopback only when asked (VALET_DEV=1), and nothing else private', () => {
    expect(blockedAddressRule('127.0.0.1', true)).toBeNull();
    expect(blockedAddressRule('::1', true)).toBeNull();
    expect(blockedAddressRule('10.0.0.1', true)).toBe('private');
    expect(blockedAddressRule('169.254.169.254', true)).toBe('metadata-endpoint');
  });
});

describe('blockedNameRule', () => {
  it('blocks localhost names (unless in dev) and *.internal always', () => {
    expect(blockedNameRule('localhost', false)).toBe('loopback');
    expect(blockedNameRule('api.localhost', false)).toBe('loopback');
    expect(blockedNameRule('localhost', true)).toBeNull();
    expect(blockedNameRule('metadata.google.internal', true)).toBe('internal-name');
    expect(blockedNameRule('Metadata.Google.Internal.', false)).toBe('internal-name');
    expect(blockedNameRule('api.github.com', false)).toBeNull();
  });
});
