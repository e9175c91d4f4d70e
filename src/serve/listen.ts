// Listening on a fixed port: a taken port is an error, never a silent other port. The same
// request handler and sync WebSocket serve dev and start.
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { UserError } from '../errors/user-error.js';
import { createRequestListener } from '../http/handler.js';
import { attachSync } from '../http/sync.js';
import type { SyncOptions, SyncServer } from '../http/sync.js';
import type { HttpContext } from '../http/types.js';

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

/**
 * Connections by whether they ever carried a request. On close Node would end every idle one at
 * once, including one a load balancer opened a moment before and whose request is still on its
 * way: it would see the connection reset and answer its own 502 for a POST it cannot resend. So
 * only connections that are idle between requests end at once; a new one gets a short grace to
 * send its request (answered with `Connection: close`, like every answer while stopping). Nothing
 * is done per request: a connection that read bytes has carried one, and one with a response in
 * progress is busy.
 */
function trackConnections(server: Server): { closeIdle(): void } {
  const open = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
  });
  // Node's close() would end every idle connection itself, the fresh ones too.
  server.closeIdleConnections = () => undefined;
  const busy = (socket: Socket) => (socket as Socket & { _httpMessage?: unknown })._httpMessage != null;
  return {
    closeIdle() {
      for (const socket of open) {
        if (busy(socket)) continue;
        if (socket.bytesRead > 0) socket.destroy();
        else setTimeout(() => socket.bytesRead === 0 && socket.destroy(), FIRST_REQUEST_GRACE_MS).unref();
      }
    },
  };
}

export function listen(context: HttpContext, port: number, host = DEFAULT_HOST, syncOptions: SyncOptions = {}): Promise<RunningServer> {
  const server = createServer(createRequestListener(context));
  server.keepAliveTimeout = 5_000;
  const connections = trackConnections(server);
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') reject(new UserError(`port ${port} is already in use: stop whatever is serving there, or pass --port <n>`));
      else if (error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND') reject(new UserError(`cannot listen on ${host}: no such local address (--host)`));
      else if (error.code === 'EACCES') reject(new UserError(`not allowed to listen on ${host}:${port} (ports below 1024 need privileges)`));
      else reject(error);
    });
    server.listen(port, host, () => {
      const address = server.address();
      const actualPort = typeof address === 'object' && address ? address.port : port;
      const sync = attachSync(server, context, syncOptions);
      let endDrain: () => void = () => undefined;
      const drained = (ms: number) =>
        new Promise<void>((done) => {
          const timer = setTimeout(done, ms);
          endDrain = () => {
            clearTimeout(timer);
            done();
          };
        });
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
