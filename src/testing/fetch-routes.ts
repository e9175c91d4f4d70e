// `t.fetch.on('https://api.github.com/users/:name', handler)`: what an action's fetch gets in a
// test. Patterns match origin and path (`:param` one segment, `*` the rest); an optional method
// comes first (`'POST https://…'`). An unmatched request fails the action with a clear error.
export type FetchHandler = (
  request: Request,
  params: Record<string, string>,
) => Response | object | string | Promise<Response | object | string>;

interface Route {
  method: string | null;
  origin: string;
  segments: string[];
  handler: FetchHandler;
}

export class FetchNotMockedError extends Error {
  readonly code = 'fetch_not_mocked';
  constructor(request: Request) {
    super(
      `fetch ${request.method} ${request.url}: no t.fetch.on(...) route matches; add one, e.g. t.fetch.on('${new URL(request.url).origin}${new URL(request.url).pathname}', () => Response.json({...}))`,
    );
    this.name = 'FetchNotMockedError';
  }
}

export interface FetchCall {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}

export class FetchRoutes {
  private readonly routes: Route[] = [];
  /** Every request handlers made, in order (after the guard let it through). */
  readonly calls: FetchCall[] = [];
  private readonly names = new Map<string, string[]>();

  on(pattern: string, handler: FetchHandler): this {
    const [first, second] = pattern.trim().split(/\s+/);
    const method = second ? first!.toUpperCase() : null;
    const url = new URL(second ?? first!);
    this.routes.push({ method, origin: url.origin, segments: url.pathname.split('/').filter(Boolean), handler });
    return this;
  }

  /** Makes a host name resolve to these addresses for the SSRF guard (public ones by default). */
  resolveName(hostname: string, addresses: string[]): this {
    this.names.set(hostname.toLowerCase(), addresses);
    return this;
  }

  async resolve(hostname: string): Promise<string[]> {
    return this.names.get(hostname.toLowerCase()) ?? ['93.184.215.14'];
  }

  private match(request: Request): { route: Route; params: Record<string, string> } | null {
    const url = new URL(request.url);
    const segments = url.pathname.split('/').filter(Boolean);
    for (const route of [...this.routes].reverse()) {
      if (route.origin !== url.origin || (route.method && route.method !== request.method)) continue;
      const params: Record<string, string> = {};
      let ok = true;
      for (let i = 0; i < route.segments.length; i++) {
        const part = route.segments[i]!;
        if (part === '*') {
          params['*'] = segments.slice(i).map(decodeURIComponent).join('/');
          i = segments.length;
          break;
        }
        const value = segments[i];
        if (value === undefined) {
          ok = false;
          break;
        }
        if (part.startsWith(':')) params[part.slice(1)] = decodeURIComponent(value);
        else if (part !== value) ok = false;
      }
      if (ok && (route.segments.includes('*') || route.segments.length === segments.length)) return { route, params };
    }
    return null;
  }

  async respond(request: Request): Promise<Response> {
    const body = request.body ? await request.clone().text() : '';
    const headers: Record<string, string> = {};
    request.headers.forEach((value, name) => (headers[name] = value));
    this.calls.push({ method: request.method, url: request.url, headers, body });
    const found = this.match(request);
    if (!found) throw new FetchNotMockedError(request);
    const answer = await found.route.handler(request, found.params);
    if (answer instanceof Response) return answer;
    if (typeof answer === 'string') return new Response(answer);
    return Response.json(answer);
  }
}
