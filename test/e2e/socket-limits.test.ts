// Sockets that send nothing, or too little too slowly, against the built CLI's `valet start`:
// under a 1024 file-descriptor limit, 2 000 silent connections must not lock real callers out,
// a silent connection is closed, a request whose headers never finish is closed, and past the
// connection cap a newcomer is answered 503 rather than crashing anything.
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkDependencies, removeTempDirs, tempDir, valet } from '../helpers/apps.js';
import { freePort, killAll, spawnValet } from '../helpers/processes.js';
import type { RunningValet } from '../helpers/processes.js';

afterAll(() => {
  killAll();
  removeTempDirs();
});

let app: string;
beforeAll(() => {
  const parent = tempDir();
  expect(valet(['init', 'shop', '--template', 'basic', '--yes', '--no-install'], parent).code).toBe(0);
  app = join(parent, 'shop');
  linkDependencies(app);
});

async function startServer(
  env: NodeJS.ProcessEnv,
  openFiles?: number,
): Promise<{ server: RunningValet; port: number; url: string }> {
  const port = await freePort();
  const server = spawnValet(['start', '--port', String(port)], app, env, { openFiles });
  const url = (await server.waitFor(/Valet serving \d+ functions at (http:\/\/127\.0\.0\.1:\d+)/))[1]!;
  return { server, port, url };
}

/** A raw TCP connection, with what it received and a promise of its close. */
function open(port: number): Promise<{ socket: Socket; received: () => string; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.on('data', (chunk) => (text += chunk.toString()));
    socket.on('error', () => undefined);
    const closed = new Promise<void>((done) => socket.once('close', () => done()));
    socket.once('connect', () => resolve({ socket, received: () => text, closed }));
    socket.once('error', reject);
  });
}

async function query(url: string) {
  const response = await fetch(`${url}/api/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ path: 'users:list', args: {} }),
  });
  return { status: response.status, body: (await response.json()) as any };
}

describe('2 000 silent connections under a 1024 file-descriptor limit', () => {
  it('leave /api/health and a query answering', async () => {
    const { server, port, url } = await startServer({}, 1024);
    const sockets: Socket[] = [];
    try {
      for (let batch = 0; batch < 20; batch++) {
        const opened = await Promise.all(Array.from({ length: 100 }, () => open(port)));
        sockets.push(...opened.map((entry) => entry.socket));
      }
      expect((await fetch(`${url}/api/health`)).status).toBe(200);
      expect(await query(url)).toMatchObject({ status: 200, body: { value: [] } });
      expect(server.child.exitCode).toBe(null);
    } finally {
      for (const socket of sockets) socket.destroy();
      await server.stop('SIGKILL');
    }
  });
});

describe('socket timeouts and the connection cap', () => {
  let server: RunningValet;
  let port: number;
  let url: string;
  beforeAll(async () => {
    ({ server, port, url } = await startServer({
      VALET_IDLE_CONNECTION_TIMEOUT_MS: '300',
      VALET_HEADERS_TIMEOUT_MS: '1500',
      VALET_MAX_CONNECTIONS: '4',
    }));
  });
  afterAll(() => server?.stop('SIGKILL'));

  it('closes a connection that sends nothing', async () => {
    const silent = await open(port);
    await silent.closed;
    expect(silent.received()).toBe('');
  });

  it('closes a request whose headers never finish, with 408', async () => {
    const slow = await open(port);
    slow.socket.write('GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ');
    await slow.closed;
    expect(slow.received()).toMatch(/^HTTP\/1\.1 408/);
  });

  it('answers 503 too_many_connections past the cap, and serves again once connections go', async () => {
    const busy = await Promise.all(Array.from({ length: 4 }, () => open(port)));
    // Each has had an answer and stays open (keep-alive): none is silent, so none may be evicted for a newcomer.
    await Promise.all(
      busy.map((entry) => {
        const answered = new Promise((resolve) => entry.socket.once('data', resolve));
        entry.socket.write('GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
        return answered;
      }),
    );
    const turnedAway = await open(port);
    await turnedAway.closed;
    expect(turnedAway.received()).toMatch(/^HTTP\/1\.1 503/);
    expect(turnedAway.received()).toContain('too_many_connections');
    for (const entry of busy) entry.socket.destroy();
    await Promise.all(busy.map((entry) => entry.closed));
    await expect
      .poll(async () => (await fetch(`${url}/api/health`).catch(() => null))?.status, { interval: 50, timeout: 30_000 })
      .toBe(200);
    expect(await query(url)).toMatchObject({ status: 200 });
  });
});
