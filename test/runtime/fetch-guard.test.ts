// The fetch guard end to end: actions fetch through it, and a loopback listener that stands for
// every forbidden destination must see zero connections. Names resolve through a resolver the
// test controls. (Private addresses a broken guard would really dial are covered by the
// address-rule unit tests instead, so no test ever sends traffic off this machine.)
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import type { AddressInfo, Server as TcpServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTempDirs } from '../helpers/apps.js';
import { engineFor } from '../helpers/engine.js';

let forbiddenPort = 0;
let connections = 0;
const forbidden: TcpServer[] = [];
let allowed: Server;
let allowedPort = 0;

const NAMES: Record<string, string[]> = {
  'loop.test': ['127.0.0.1'],
  'evil.internal': ['127.0.0.1'],
  'mixed.test': ['127.0.0.1', '10.0.0.1'],
};
const resolve = async (hostname: string) => {
  const addresses = NAMES[hostname];
  if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
  return addresses;
};

function listenTcp(host: string, port: number): Promise<TcpServer> {
  return new Promise((done, fail) => {
    const server = createTcpServer((socket) => {
      connections++;
      socket.destroy();
    });
    server.once('error', fail);
    server.listen(port, host, () => done(server));
  });
}

beforeAll(async () => {
  const v4 = await listenTcp('127.0.0.1', 0);
  forbiddenPort = (v4.address() as AddressInfo).port;
  forbidden.push(v4, await listenTcp('::1', forbiddenPort));
  allowed = createServer((req, res) => {
    if (req.url === '/ok') return res.end('ok');
    if (req.url?.startsWith('/to?')) {
      res.writeHead(302, { location: decodeURIComponent(req.url.slice(4)) });
      return res.end();
    }
    if (req.url === '/hop') {
      res.writeHead(307, { location: '/ok' });
      return res.end();
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((done) => allowed.listen(0, '127.0.0.1', done));
  allowedPort = (allowed.address() as AddressInfo).port;
});

afterAll(async () => {
  for (const server of forbidden) server.close();
  allowed.close();
  removeTempDirs();
});

describe('in production mode (no VALET_DEV)', async () => {
  const { value, call } = await engineFor('engine-app', { env: {}, resolve });
  const p = () => forbiddenPort;

  it.each([
    ['http://127.0.0.1:PORT/', 'loopback'],
    ['http://2130706433:PORT/', 'loopback'],
    ['http://0x7f000001:PORT/', 'loopback'],
    ['http://0177.0.0.1:PORT/', 'loopback'],
    ['http://127.1:PORT/', 'loopback'],
    ['http://[::1]:PORT/', 'loopback'],
    ['http://[::ffff:127.0.0.1]:PORT/', 'loopback'],
    ['http://[0:0:0:0:0:ffff:7f00:1]:PORT/', 'loopback'],
    ['http://[::127.0.0.1]:PORT/', 'embedded-ipv4'],
    ['http://[64:ff9b::7f00:1]:PORT/', 'embedded-ipv4'],
    ['http://0.0.0.0:PORT/', 'unspecified'],
    ['http://0:PORT/', 'unspecified'],
    ['http://[::]:PORT/', 'unspecified'],
    ['http://localhost:PORT/', 'loopback'],
    ['http://LOCALHOST.:PORT/', 'loopback'],
    ['http://loop.test:PORT/', 'loopback'],
    ['http://evil.internal:PORT/', 'internal-name'],
    ['http://metadata.google.internal/computeMetadata/v1/', 'internal-name'],
    ['file:///etc/passwd', 'scheme'],
  ])('refuses %s before connecting (%s), as an error the action can catch', async (url, rule) => {
    const before = connections;
    const outcome = await value('action', 'net:get', { url: url.replace('PORT', String(p())) });
    expect(outcome).toMatchObject({ ok: false, code: 'fetch_blocked', rule });
    expect(outcome.message).toContain(`(${rule})`);
    expect(connections).toBe(before);
  });

  it('names the address a refused name resolved to', async () => {
    const outcome = await value('action', 'net:get', { url: `http://loop.test:${p()}/` });
    expect(outcome.message).toContain('loop.test resolves to 127.0.0.1');
  });

  it('throws in queries and mutations', async () => {
    expect(await call('query', 'net:inQuery')).toMatchObject({
      status: 500,
      body: { code: 'fetch_not_allowed', message: expect.stringContaining('queries must be deterministic') },
    });
    expect(await call('mutation', 'net:inMutation')).toMatchObject({
      status: 500,
      body: { code: 'fetch_not_allowed' },
    });
  });

  it('leaves fetch alone outside any invocation', async () => {
    expect(await (await fetch(`http://127.0.0.1:${allowedPort}/ok`)).text()).toBe('ok');
  });

  it('saw no connection at all to the forbidden listener', () => {
    expect(connections).toBe(0);
  });
});

describe('in development mode (VALET_DEV=1)', async () => {
  const { value } = await engineFor('engine-app', { env: { VALET_DEV: '1' }, resolve });
  const allowedUrl = (path: string) => `http://127.0.0.1:${allowedPort}${path}`;

  it('allows loopback, following redirects', async () => {
    expect(await value('action', 'net:get', { url: allowedUrl('/ok') })).toEqual({ ok: true, status: 200, body: 'ok' });
    expect(await value('action', 'net:get', { url: allowedUrl('/hop') })).toEqual({
      ok: true,
      status: 200,
      body: 'ok',
    });
    expect(await value('action', 'net:get', { url: allowedUrl('/hop'), redirect: 'manual' })).toMatchObject({
      ok: true,
      status: 307,
    });
  });

  it.each([
    ['a *.internal name', () => `http://evil.internal:${forbiddenPort}/`, 'internal-name'],
    ['the unspecified address', () => `http://0.0.0.0:${forbiddenPort}/`, 'unspecified'],
    ['an embedded IPv4 form', () => `http://[64:ff9b::7f00:1]:${forbiddenPort}/`, 'embedded-ipv4'],
  ])('checks every redirect hop: refuses a redirect to %s', async (_name, target, rule) => {
    const before = connections;
    const outcome = await value('action', 'net:get', { url: allowedUrl(`/to?${encodeURIComponent(target())}`) });
    expect(outcome).toMatchObject({ ok: false, code: 'fetch_blocked', rule });
    expect(connections).toBe(before);
  });

  it('refuses a name when any address it resolves to is blocked', async () => {
    const before = connections;
    const outcome = await value('action', 'net:get', { url: `http://mixed.test:${forbiddenPort}/` });
    expect(outcome).toMatchObject({ ok: false, code: 'fetch_blocked', rule: 'private' });
    expect(outcome.message).toContain('mixed.test resolves to 10.0.0.1');
    expect(connections).toBe(before);
  });
});
