// Where a server can be reached from, said plainly: `--host 0.0.0.0` listens on every interface,
// and the ready line names each address instead of a loopback URL that hides it. A dev key or a
// dashboard on a non-loopback address is reachable by the network: a warning says so.
import { networkInterfaces } from 'node:os';

export function isWildcardHost(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '';
}

export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  return bare === 'localhost' || bare === '::1' || /^127\.\d+\.\d+\.\d+$/.test(bare);
}

function urlOf(address: string, port: number): string {
  return `http://${address.includes(':') ? `[${address}]` : address}:${port}`;
}

/** Every URL the server answers on: each interface's address for a wildcard, else the one address. */
export function listeningUrls(host: string, port: number): string[] {
  if (!isWildcardHost(host)) return [urlOf(host, port)];
  const ipv6 = host === '::';
  const addresses = Object.values(networkInterfaces())
    .flat()
    .filter(
      (entry) =>
        entry && (entry.family === 'IPv4' || (ipv6 && entry.family === 'IPv6' && !entry.address.startsWith('fe80'))),
    )
    .map((entry) => entry!.address);
  return [...new Set(addresses)].map((address) => urlOf(address, port));
}

/** Warnings for what a non-loopback address exposes. */
export function exposureWarnings(host: string, exposed: { devAuth?: boolean; dashboard?: boolean }): string[] {
  if (isLoopbackHost(host)) return [];
  const where = isWildcardHost(host) ? 'every network interface' : host;
  const warnings: string[] = [];
  if (exposed.devAuth)
    warnings.push(
      `--dev-auth: tokens signed with this app's dev key are trusted on ${where}; anyone who has the key can act as any user`,
    );
  if (exposed.dashboard)
    warnings.push(
      `the dashboard is served on ${where}: its links sign a browser in as an administrator; share them only over a trusted network`,
    );
  return warnings;
}
