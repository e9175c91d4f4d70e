// Listening on 127.0.0.1 at a fixed port: a taken port is an error, never a silent other port.
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { createRequestListener } from './http.js';
import type { HttpContext } from './http.js';
import { attachSync } from './sync.js';
import type { SyncServer } from './sync.js';

export const DEFAULT_PORT = 3210;

export class PortInUseError extends Error {
  constructor(readonly port: number) {
    super(`port ${port} is already in use: stop whatever is serving there, or pass --port <n>`);
    this.name = 'PortInUseError';
  }
}

export interface RunningServer {
  url: string;
  server: Server;
  /** Reactive queries and queued mutations over WebSocket (/api/sync). */
  sync: SyncServer;
  close(): Promise<void>;
}

export function listen(context: HttpContext, port: number, host = '127.0.0.1'): Promise<RunningServer> {
  const server = createServer(createRequestListener(context));
  server.keepAliveTimeout = 5_000;
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => reject(error.code === 'EADDRINUSE' ? new PortInUseError(port) : error));
    server.listen(port, host, () => {
      const address = server.address();
      const actualPort = typeof address === 'object' && address ? address.port : port;
      const sync = attachSync(server, context);
      resolve({
        url: `http://${host}:${actualPort}`,
        server,
        sync,
        close: () =>
          new Promise((done) => {
            sync.close();
            server.close(() => done());
            server.closeIdleConnections();
          }),
      });
    });
  });
}
