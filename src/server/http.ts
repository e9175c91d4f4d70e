// HTTP routes (webhooks): `valet/http.ts` default-exports an httpRouter(). The server mounts
// them under /http/; /api/ and /admin/ stay Valet's own.
import type { HttpActionCtx } from './ctx.js';
import type { GenericDataModel } from './schema.js';

export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

export interface HttpActionDefinition {
  readonly kind: 'httpAction';
  readonly handler: (ctx: any, request: Request) => Promise<Response>;
}

export type HttpAction<DM extends GenericDataModel> = (
  handler: (ctx: HttpActionCtx<DM>, request: Request) => Promise<Response>,
) => HttpActionDefinition;

export const httpAction: HttpAction<GenericDataModel> = (handler) => {
  if (typeof handler !== 'function') throw new TypeError('httpAction: handler must be a function');
  return Object.freeze({ kind: 'httpAction', handler });
};

export type RouteSpec = ({ path: string; pathPrefix?: never } | { pathPrefix: string; path?: never }) & {
  method: HttpMethod;
  handler: HttpActionDefinition;
};

export interface Route {
  readonly match: 'exact' | 'prefix';
  readonly path: string;
  readonly method: HttpMethod;
  readonly handler: HttpActionDefinition;
}

export class HttpRouter {
  readonly routes: Route[] = [];

  route(spec: RouteSpec): this {
    const match = spec.path !== undefined ? 'exact' : 'prefix';
    const path = spec.path ?? spec.pathPrefix;
    if (typeof path !== 'string' || !path.startsWith('/'))
      throw new Error(`route: path must start with "/", got ${JSON.stringify(path)}`);
    if (match === 'prefix' && !path.endsWith('/'))
      throw new Error(`route: pathPrefix must end with "/", got "${path}"`);
    if (!HTTP_METHODS.includes(spec.method))
      throw new Error(`route ${path}: method must be one of ${HTTP_METHODS.join(', ')}`);
    if (spec.handler?.kind !== 'httpAction')
      throw new Error(`route ${spec.method} ${path}: handler must be made with httpAction(...)`);
    if (this.routes.some((r) => r.match === match && r.path === path && r.method === spec.method)) {
      throw new Error(`route ${spec.method} ${path} is declared twice`);
    }
    this.routes.push(Object.freeze({ match, path, method: spec.method, handler: spec.handler }));
    return this;
  }

  /** The route for a request path (relative to /http), exact matches before the longest prefix. */
  lookup(method: string, path: string): Route | null {
    const exact = this.routes.find((r) => r.match === 'exact' && r.method === method && r.path === path);
    if (exact) return exact;
    const prefixes = this.routes.filter((r) => r.match === 'prefix' && r.method === method && path.startsWith(r.path));
    return prefixes.sort((a, b) => b.path.length - a.path.length)[0] ?? null;
  }
}

export function httpRouter(): HttpRouter {
  return new HttpRouter();
}
