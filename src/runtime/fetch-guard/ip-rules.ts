// Which destinations an action may fetch. Every check works on parsed addresses (ipaddr.js), so
// each spelling of an address — decimal, octal, hex, shortened IPv4 (normalised by the URL
// parser), IPv4-mapped or embedded IPv6 — lands on the same rule.
import ipaddr from 'ipaddr.js';

export type BlockRule =
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'carrier-grade-nat'
  | 'unique-local'
  | 'unspecified'
  | 'multicast'
  | 'reserved'
  | 'embedded-ipv4'
  | 'internal-name'
  | 'metadata-endpoint'
  | 'scheme';

const IPV4_RULES: Record<string, BlockRule> = {
  loopback: 'loopback',
  private: 'private',
  linkLocal: 'link-local',
  carrierGradeNat: 'carrier-grade-nat',
  unspecified: 'unspecified',
  multicast: 'multicast',
  broadcast: 'multicast',
};

/** Cloud metadata services, listed by name even where a range rule would also catch them. */
const METADATA_ADDRESSES = new Set([
  '169.254.169.254',
  '169.254.170.2',
  '100.100.100.200',
  '192.0.0.192',
  'fd00:ec2::254',
]);
const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR('2000::/3');

/** The rule that blocks an IP address, or null when it is a public unicast address. */
export function blockedAddressRule(address: string, allowLoopback: boolean): BlockRule | null {
  if (!ipaddr.isValid(address)) return 'reserved';
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress())
    parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  if (METADATA_ADDRESSES.has(parsed.toString())) return 'metadata-endpoint';
  const range = parsed.range();
  if (range === 'loopback') return allowLoopback ? null : 'loopback';
  if (parsed.kind() === 'ipv4') {
    if (range === 'unicast') return null;
    return IPV4_RULES[range] ?? 'reserved';
  }
  if (range === 'uniqueLocal') return 'unique-local';
  if (range === 'linkLocal') return 'link-local';
  if (range === 'unspecified') return 'unspecified';
  if (range === 'multicast') return 'multicast';
  if (range === 'rfc6052' || range === '6to4' || range === 'teredo' || range === 'rfc6145') return 'embedded-ipv4';
  // Only global unicast is reachable on purpose; this also catches IPv4-compatible ::a.b.c.d.
  if (range === 'unicast' && (parsed as ipaddr.IPv6).match(GLOBAL_UNICAST_V6)) return null;
  return (parsed as ipaddr.IPv6).parts.slice(0, 6).every((p) => p === 0) ? 'embedded-ipv4' : 'reserved';
}

/** Rules that apply to a host name before any lookup. */
export function blockedNameRule(hostname: string, allowLoopback: boolean): BlockRule | null {
  const name = hostname.toLowerCase().replace(/\.$/, '');
  if (name === 'localhost' || name.endsWith('.localhost')) return allowLoopback ? null : 'loopback';
  if (name === 'internal' || name.endsWith('.internal')) return 'internal-name';
  return null;
}

export function describeRule(rule: BlockRule): string {
  const descriptions: Record<BlockRule, string> = {
    loopback: 'loopback addresses are reachable only in development (VALET_DEV=1)',
    private: 'private (RFC 1918) addresses are not reachable from actions',
    'link-local': 'link-local addresses are not reachable from actions',
    'carrier-grade-nat': 'carrier-grade NAT (100.64.0.0/10) addresses are not reachable from actions',
    'unique-local': 'unique-local IPv6 addresses are not reachable from actions',
    unspecified: 'the unspecified address is not a destination',
    multicast: 'multicast and broadcast addresses are not destinations',
    reserved: 'reserved addresses are not reachable from actions',
    'embedded-ipv4': 'IPv6 forms that embed an IPv4 address are not reachable from actions',
    'internal-name': '*.internal names are not reachable from actions',
    'metadata-endpoint': 'cloud metadata endpoints are not reachable from actions',
    scheme: 'only http: and https: URLs can be fetched',
  };
  return descriptions[rule];
}
