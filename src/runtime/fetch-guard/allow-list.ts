// VALET_FETCH_ALLOW: destinations on private addresses an app may reach in production (a sidecar,
// a staging mock) without turning on everything VALET_DEV does. Each entry is `host[:port]` — a
// name or an address; without a port, any port. It lifts the address rules for that destination
// only, and is applied where those rules are: a name is allowed the addresses it resolves to at
// connect time, an address entry allows that address whatever name led to it.
export interface FetchAllowEntry {
  /** A lower-case name, or an address (IPv6 without brackets). */
  host: string;
  port: number | null;
}

export function parseFetchAllow(text: string | undefined, source = 'VALET_FETCH_ALLOW'): FetchAllowEntry[] {
  if (!text || text.trim() === '') return [];
  return text
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean)
    .map((item) => {
      const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s/]+))(?::(\d{1,5}))?$/.exec(item) ?? /^([0-9a-fA-F:]+)$/.exec(item);
      if (!match)
        throw new Error(
          `${source}: "${item}" is not host[:port] (an IPv6 address with a port goes in brackets: [fd00::1]:8080)`,
        );
      const host = (match[1] ?? match[2] ?? '').toLowerCase();
      const port = match[3] === undefined ? null : Number(match[3]);
      if (port !== null && (port < 1 || port > 65535))
        throw new Error(`${source}: "${item}": the port must be 1-65535`);
      return { host, port };
    });
}

export function describeFetchAllow(entries: FetchAllowEntry[]): string {
  return entries
    .map((entry) =>
      entry.port === null
        ? entry.host.includes(':')
          ? `[${entry.host}]`
          : entry.host
        : `${entry.host.includes(':') ? `[${entry.host}]` : entry.host}:${entry.port}`,
    )
    .join(', ');
}

/** The port a URL connects to. */
export function effectivePort(url: URL): number {
  return url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
}

/** The entries that apply to a connection on `port`: the hosts and addresses they name. */
export function allowedAt(entries: readonly FetchAllowEntry[], port: number): Set<string> {
  return new Set(entries.filter((entry) => entry.port === null || entry.port === port).map((entry) => entry.host));
}
