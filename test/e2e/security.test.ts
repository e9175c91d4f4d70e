// The attack from the security issue, against the real `valet dev` of a new basic app: a page on
// another origin tries to mint a dev token, read it, call functions and open the WebSocket; a
// DNS-rebinding name tries the same. A localhost page (a Vite app on another port) still works.
import { request } from 'node:http';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkDependencies, removeTempDirs, tempDir, valet } from '../helpers/apps.js';
import { freePort, killAll, spawnValet } from '../helpers/processes.js';
import type { RunningValet } from '../helpers/processes.js';

afterAll(() => {
  killAll();
  removeTempDirs();
});

/** A raw HTTP request (fetch will not send a Host header of our choosing). */
function raw(url: string, options: { method?: string; headers?: Record<string, string>; body?: string | Buffer }) {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers }, (res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

describe('valet dev against another web page', () => {
  let app: string;
  let dev: RunningValet;
  let url: string;

  beforeAll(async () => {
    const parent = tempDir();
    expect(valet(['init', 'site', '--template', 'basic', '--yes', '--no-install'], parent).code).toBe(0);
    app = join(parent, 'site');
    linkDependencies(app);
    dev = spawnValet(['dev', '--port', String(await freePort()), '--no-typecheck'], app);
    url = (await dev.waitFor(/Valet dev: \d+ functions at (http:\/\/127\.0\.0\.1:\d+)/))[1]!;
  });
  afterAll(() => dev?.stop('SIGKILL'));

  it('a foreign page cannot mint a token with a "simple" text/plain POST, nor read one', async () => {
    const attempt = await raw(`${url}/api/dev/token`, {
      method: 'POST',
      headers: { origin: 'https://evil.example', 'content-type': 'text/plain' },
      body: '{"userId":"victim"}',
    });
    expect(attempt.status).toBe(403);
    expect(attempt.headers['access-control-allow-origin']).toBeUndefined();
    expect(attempt.body).not.toMatch(/"token"/);
    const preflight = await raw(`${url}/api/dev/token`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://evil.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    expect(preflight.status).toBe(403);
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('a foreign page cannot call functions, even public ones', async () => {
    const write = await raw(`${url}/api/mutation`, {
      method: 'POST',
      headers: { origin: 'https://evil.example', 'content-type': 'text/plain' },
      body: '{"path":"users:create","args":{"email":"csrf@example.com"}}',
    });
    expect(write.status).toBe(403);
    const read = await raw(`${url}/api/query`, {
      method: 'POST',
      headers: { origin: 'https://evil.example' },
      body: '{"path":"users:list","args":{}}',
    });
    expect(read.status).toBe(403);
    expect(JSON.parse(valet(['data', 'users', '--json'], app).stdout || '[]')).toEqual([]);
  });

  it('a foreign page cannot open the sync WebSocket', async () => {
    const status = await new Promise<number>((resolve) => {
      const socket = new WebSocket(`${url.replace('http', 'ws')}/api/sync`, {
        headers: { origin: 'https://evil.example' },
      });
      socket.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      socket.on('open', () => resolve(101));
      socket.on('error', () => undefined);
    });
    expect(status).toBe(403);
  });

  it('a DNS-rebinding name is refused everywhere, with a message naming the setting', async () => {
    const port = new URL(url).port;
    for (const path of ['/api/dev/token', '/api/query', '/admin/invocations', '/http/health']) {
      const response = await raw(`${url}${path}`, {
        method: 'POST',
        headers: { host: `rebind.attacker.example:${port}`, 'content-type': 'application/json' },
        body: '{"userId":"victim"}',
      });
      expect(response.status, path).toBe(403);
      expect(JSON.parse(response.body).message).toContain('--allowed-host');
    }
  });

  it('a page on localhost (a Vite app on another port) signs in and calls as before', async () => {
    const origin = 'http://localhost:5173';
    const preflight = await raw(`${url}/api/dev/token`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-origin']).toBe(origin);
    const minted = await raw(`${url}/api/dev/token`, {
      method: 'POST',
      headers: { origin, 'content-type': 'application/json' },
      body: '{"userId":"ada"}',
    });
    expect(minted.status).toBe(200);
    expect(minted.headers['access-control-allow-origin']).toBe(origin);
    const { token } = JSON.parse(minted.body);
    const created = await raw(`${url}/api/mutation`, {
      method: 'POST',
      headers: { origin, authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: '{"path":"users:create","args":{"email":"ada@example.com"}}',
    });
    expect(created.status).toBe(200);
  });

  it('answers a body over the limit with a 413 the client can read', async () => {
    const response = await fetch(`${url}/api/mutation`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ path: 'users:create', args: { email: 'x'.repeat(5 * 1024 * 1024) } }),
    });
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ code: 'request_too_large' });
  });
});
