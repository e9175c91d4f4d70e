// A TCP proxy on loopback whose target can be switched, or refuse connections: a client that
// goes offline, and comes back to another instance.
import { createServer, connect } from 'node:net';
import type { Socket } from 'node:net';
import { freePort } from './processes.js';

export interface SwitchProxy {
  url: string;
  /** Where new connections go; null refuses them (the client is offline). */
  target: number | null;
  /** Cuts every open connection. */
  cut(): void;
  close(): Promise<void>;
}

export async function switchProxy(target: number | null): Promise<SwitchProxy> {
  const port = await freePort();
  const open = new Set<Socket>();
  const proxy: SwitchProxy = {
    url: `http://127.0.0.1:${port}`,
    target,
    cut: () => {
      for (const socket of open) socket.destroy();
      open.clear();
    },
    close: () =>
      new Promise((resolve) => {
        proxy.cut();
        server.close(() => resolve());
      }),
  };
  const server = createServer((client) => {
    if (proxy.target === null) return void client.destroy();
    const upstream = connect(proxy.target, '127.0.0.1');
    open.add(client);
    open.add(upstream);
    client.pipe(upstream).pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', end);
    upstream.on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return proxy;
}
