// A request and its reply as the routes see them: the same whether they came through node:http
// (the server) or were made in-process by a test (`requestInProcess`, like Hono's app.request()).
import type { IncomingHttpHeaders } from 'node:http';
import type { Engine } from '../runtime/engine.js';
import type { AccessPolicy } from './security.js';
import type { DashboardHost } from './dashboard/host.js';

export interface HttpRequest {
  method: string;
  /** Path and query, as sent. */
  url: string;
  pathname: string;
  /** Lower-case names, as node:http gives them. */
  headers: IncomingHttpHeaders;
  /** The peer's address (a proxy's, behind one): what per-address rate limits count. */
  remoteAddress?: string;
  /** The body, at most the context's limit (413 past it). */
  readBody(): Promise<Buffer>;
  /** The body as it arrives, however large (a file upload: the route bounds it itself). */
  streamBody(): BodyStream;
}

export interface BodyStream {
  /** The chunks; leaving the loop early does not close the connection (see `drain`). */
  chunks: AsyncIterable<Uint8Array>;
  /**
   * Reads and drops what is left (bounded in bytes and time), so an answer sent before the body
   * ended (413) reaches the client rather than a reset connection.
   */
  drain(): Promise<void>;
}

export interface HttpReply {
  status: number;
  /** Flat [name, value, name, value, …]: the cheapest form for node:http to write. */
  headers: string[];
  /** A large answer (an export) streams: written chunk by chunk as the client takes it. */
  body: string | Uint8Array | AsyncIterable<string | Uint8Array>;
}

export interface HttpContext {
  /** Null until the first good build of a dev server (requests then get 503 with `notReadyReason`). */
  engine: Engine | null;
  /** The admin key (from .valet/); admin endpoints and admin calls need it. */
  adminKey: string;
  notReadyReason?: string;
  /** Only under `valet dev`: signs a dev token for a user id (POST /api/dev/token), so a page can sign in. */
  devToken?: (userId: string) => Promise<string>;
  /** Which hosts and origins may talk to this server. */
  policy: AccessPolicy;
  maxBodyBytes?: number;
  /** Where unexpected failures are logged (stderr by default). */
  log?: (line: string) => void;
  /** The VAPID public key browsers subscribe with (GET /api/push/public-key). */
  vapidPublicKey?: string;
  /** The dashboard at /_dashboard/ (always under `valet dev`; `valet start --dashboard`). */
  dashboard?: DashboardHost;
  /** Set when the server is shutting down: /api/ready says so, load balancers stop sending. */
  draining?: boolean;
  /** POST /admin/query runs one-off queries (valet dev, and valet mcp's own in-process server). */
  oneOffQueries?: boolean;
  /** Live subscriptions per query path (set by the sync socket; metrics read it). */
  subscriptions?: () => Map<string, number>;
}

export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;
