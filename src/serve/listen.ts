// Listening on a fixed port: a taken port is an error, never a silent other port. The same
// request handler and sync WebSocket serve dev and start.
import { ERROR_CODES } from '../protocol/error-codes.js';
import type { ErrorBody } from '../protocol/errors.js';
import { createServer, STATUS_CODES } from 'node:http';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { UserError } from '../errors/user-error.js';
import { createRequestListener } from '../http/handler.js';
import { attachSync } from '../http/sync.js';
import type { SyncOptions, SyncServer } from '../http/sync.js';
import type { HttpContext } from '../http/types.js';
import { socketLimitsFromEnv } from './socket-limits.js';
import type { SocketLimits } from './socket-limits.js';

export const DEFAULT_PORT = 3210;
export const DEFAULT_HOST = '127.0.0.1';

export interface RunningServer {
  url: string;
  server: Server;
  /** Reactive queries and queued mutations over WebSocket (/api/sync). */
  sync: SyncServer;
  /**
   * Stops gracefully. First the drain: for `drainMs` /api/ready answers 503 shutting_down while
   * everything else is still served, so a load balancer takes this instance out before it goes.
   * Then WebSockets close with "going away" (clients reconnect elsewhere), no new connections are
   * accepted, and calls in flight may finish for `graceMs` before their connections are cut.
   */
  close(graceMs?: number, drainMs?: number): Promise<void>;
  /** Ends the drain at once (a second SIGTERM or Ctrl-C). */
  endDrain(): void;
}

export const DEFAULT_SHUTDOWN_GRACE_MS = 10_000;
/** Long enough for a load balancer's health check (every 1–2 s, a few failures) to see the 503. */
export const DEFAULT_SHUTDOWN_DRAIN_MS = 5_000;

/** How a URL spells the bound address: brackets for IPv6, a loopback name for "every interface". */
function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

/** How long a connection accepted just before the listener closed may take to send its request. */
const FIRST_REQUEST_GRACE_MS = 2_000;
/** How often silent connections are looked for. */
const SWEEP_INTERVAL_MS = 1_000;

const BUSY: ErrorBody = {
  code: 'too_many_connections',
  message: 'the server holds as many connections as it may (VALET_MAX_CONNECTIONS): retry later',
};
const BUSY_BODY = JSON.stringify(BUSY);
const BUSY_STATUS = ERROR_CODES[BUSY.code].status;
const BUSY_ANSWER = `HTTP/1.1 ${BUSY_STATUS} ${STATUS_CODES[BUSY_STATUS]}\r\ncontent-type: application/json\r\nconnection: close\r\ncontent-length: ${Buffer.byteLength(BUSY_BODY)}\r\n\r\n${BUSY_BODY}`;

interface Tracked {
  openedAt: number;
  upgraded: boolean;
}

/**
 * Every connection, by whether it ever carried a request. One that sends nothing for
 * `firstRequestTimeoutMs` is closed (Node's own timeouts only start with a request's first byte).
 * At `maxConnections` a new connection takes the place of the oldest that never sent a byte, or
 * is answered 503 and closed when there is none, so silent sockets can never lock callers out.
 *
 * On close Node would end every idle one at once, including one a load balancer opened a moment
 * before and whose request is still on its way: it would see the connection reset and answer its
 * own 502 for a POST it cannot resend. So only connections that are idle between requests end at
 * once; a new one gets a short grace to send its request (answered with `Connection: close`, like
 * every answer while stopping). Nothing is done per request: a connection that read bytes has
 * carried one, and one with a response in progress is busy.
 */
function trackConnections(server: Server, limits: SocketLimits): { closeIdle(): void; stop(): void } {
  const open = new Map<Socket, Tracked>();
  const silent = (socket: Socket, tracked: Tracked) => socket.bytesRead === 0 && !tracked.upgraded;
  server.on('connection', (socket: Socket) => {
    if (open.size >= limits.maxConnections) {
      const oldestSilent = [...open].find(([candidate, tracked]) => silent(candidate, tracked));
      if (oldestSilent) {
        open.delete(oldestSilent[0]);
        oldestSilent[0].destroy();
      } else {
        socket.end(BUSY_ANSWER);
        socket.on('error', () => undefined);
        setTimeout(() => socket.destroy(), FIRST_REQUEST_GRACE_MS).unref();
        return;
      }
    }
    open.set(socket, { openedAt: Date.now(), upgraded: false });
    socket.once('close', () => open.delete(socket));
  });
  server.on('upgrade', (request: { socket: Socket }) => {
    const tracked = open.get(request.socket);
    if (tracked) tracked.upgraded = true;
  });
  const sweep = setInterval(() => {
    const cutoff = Date.now() - limits.firstRequestTimeoutMs;
    for (const [socket, tracked] of open) {
      // Map order is arrival order: the rest are younger.
      if (tracked.openedAt > cutoff) break;
      if (silent(socket, tracked)) socket.destroy();
    }
  }, SWEEP_INTERVAL_MS);
  sweep.unref();
  // Node's close() would end every idle connection itself, the fresh ones too.
  server.closeIdleConnections = () => undefined;
  const busy = (socket: Socket) => (socket as Socket & { _httpMessage?: unknown })._httpMessage != null;
  return {
    stop: () => clearInterval(sweep),
    closeIdle() {
      for (const [socket, tracked] of open) {
        if (busy(socket) || tracked.upgraded) continue;
        if (socket.bytesRead > 0) socket.destroy();
        else setTimeout(() => socket.bytesRead === 0 && socket.destroy(), FIRST_REQUEST_GRACE_MS).unref();
      }
    },
  };
}

export interface ListenOptions {
  sync?: SyncOptions;
  /** Defaults from the environment (socketLimitsFromEnv). */
  limits?: Partial<SocketLimits>;
}

export function listen(
  context: HttpContext,
  port: number,
  host = DEFAULT_HOST,
  options: ListenOptions = {},
): Promise<RunningServer> {
  const limits = { ...socketLimitsFromEnv(), ...options.limits };
  const server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      connectionsCheckingInterval: SWEEP_INTERVAL_MS,
    },
    createRequestListener(context),
  );
  server.keepAliveTimeout = 5_000;
  const connections = trackConnections(server, limits);
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE')
        reject(new UserError(`port ${port} is already in use: stop whatever is serving there, or pass --port <n>`));
      else if (error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND')
        reject(new UserError(`cannot listen on ${host}: no such local address (--host)`));
      else if (error.code === 'EACCES')
        reject(new UserError(`not allowed to listen on ${host}:${port} (ports below 1024 need privileges)`));
      else reject(error);
    });
    server.listen(port, host, () => {
      const address = server.address();
      const actualPort = typeof address === 'object' && address ? address.port : port;
      const sync = attachSync(server, context, {
        pingIntervalMs: limits.pingIntervalMs,
        maxSubscriptions: limits.maxSubscriptionsPerSocket,
        ...options.sync,
      });
      let endDrain: () => void = () => undefined;
      const drained = (ms: number) =>
        new Promise<void>((done) => {
          const timer = setTimeout(done, ms);
          endDrain = () => {
            clearTimeout(timer);
            done();
          };
        });
      // File URLs name this server unless VALET_PUBLIC_URL names the one clients use.
      context.engine?.files.setServerUrl(`http://${urlHost(host)}:${actualPort}`);
      resolve({
        url: `http://${urlHost(host)}:${actualPort}`,
        server,
        sync,
        endDrain: () => endDrain(),
        async close(graceMs = DEFAULT_SHUTDOWN_GRACE_MS, drainMs = 0) {
          context.draining = true;
          if (drainMs > 0) await drained(drainMs);
          await new Promise<void>((done) => {
            sync.close();
            context.dashboard?.close();
            const cut = setTimeout(() => server.closeAllConnections(), graceMs);
            server.close(() => {
              clearTimeout(cut);
              connections.stop();
              done();
            });
            // Idle keep-alive connections go now; busy ones once their response is sent.
            connections.closeIdle();
          });
        },
      });
    });
  });
}
