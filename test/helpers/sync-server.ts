// A served engine over a fixture (the real HTTP + WebSocket server), and a WebSocket proxy in
// front of it that can cut the connection at a chosen moment.
import { join } from 'node:path';
import { WebSocket, WebSocketServer } from 'ws';
import type { AddressInfo } from 'node:net';
import { runCodegen } from '../../src/codegen/index.js';
import { buildAndLoad } from '../../src/bundler/evaluate.js';
import { listen } from '../../src/serve/listen.js';
import type { RunningServer } from '../../src/serve/listen.js';
import { createEngine } from '../../src/runtime/engine.js';
import { accessPolicyFrom } from '../../src/http/security.js';
import type { SyncOptions } from '../../src/http/sync.js';
import type { Engine, EngineOptions } from '../../src/runtime/engine.js';
import { fixtureApp } from './apps.js';
import { testDatabase } from './database.js';

export interface ServedApp {
  app: string;
  engine: Engine;
  server: RunningServer;
  url: string;
  stop(): Promise<void>;
}

export async function serveFixture(
  fixture: string,
  app = fixtureApp(fixture, []),
  port = 0,
  options: Partial<EngineOptions> = {},
  syncOptions: SyncOptions = {},
): Promise<ServedApp> {
  runCodegen(app);
  const engine = await createEngine({
    modules: await buildAndLoad(app),
    ...testDatabase(join(app, '.valet')),
    env: {},
    log: () => undefined,
    ...options,
  });
  const server = await listen(
    { engine, adminKey: 'test-admin-key', policy: accessPolicyFrom('start', '127.0.0.1', {}) },
    port,
    '127.0.0.1',
    { sync: syncOptions },
  );
  return {
    app,
    engine,
    server,
    url: server.url,
    async stop() {
      await server.close();
      await engine.close();
    },
  };
}

export interface CuttableProxy {
  url: string;
  /** Called with each server → client message; return 'cut' to drop the connection instead of forwarding. */
  onServerMessage: (message: any) => 'forward' | 'cut';
  /** Called with each client → server message; return 'drop' to lose it on the way. */
  onClientMessage: (message: any) => 'forward' | 'drop';
  close(): Promise<void>;
}

export async function cuttableProxy(target: string): Promise<CuttableProxy> {
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((resolve) => server.once('listening', resolve));
  const proxy: CuttableProxy = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    onServerMessage: () => 'forward',
    onClientMessage: () => 'forward',
    close: async () => undefined,
  };
  server.on('connection', (client) => {
    const upstream = new WebSocket(`${target.replace(/^http/, 'ws')}/api/sync`);
    const early: string[] = [];
    upstream.on('open', () => early.splice(0).forEach((m) => upstream.send(m)));
    client.on('message', (data) => {
      if (proxy.onClientMessage(JSON.parse(String(data))) === 'drop') return;
      if (upstream.readyState === WebSocket.OPEN) upstream.send(String(data));
      else early.push(String(data));
    });
    upstream.on('message', (data) => {
      if (proxy.onServerMessage(JSON.parse(String(data))) === 'cut') {
        client.terminate();
        upstream.terminate();
      } else client.send(String(data));
    });
    client.on('close', () => upstream.close());
    upstream.on('close', () => client.close());
    client.on('error', () => upstream.terminate());
    upstream.on('error', () => client.terminate());
  });
  proxy.close = () =>
    new Promise((resolve) => {
      for (const c of server.clients) c.terminate();
      server.close(() => resolve());
    });
  return proxy;
}

/** A JSON POST to a served app: the status and the parsed answer (what the auth tests read). */
export async function postJson(
  baseUrl: string,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; body: any }> {
  const response = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, body: await response.json() };
}
