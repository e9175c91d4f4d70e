// The dashboard's routes through the real request handler, in-process (no port, no browser): the
// sign-in link works once, the cookie is checked (tampered, another server's key, another port's
// name), the API needs its header and the server's own origin, static files stay in their folder,
// and the admin API behind it — functions, argument checks, re-runs, documents written through
// the engine with the schema enforced, JSONL export, outbox and scheduled writes — answers bad
// input with 4xx and a reason. Runs on both backends.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DashboardHost } from '../../src/http/dashboard/host.js';
import { handleRequest, requestInProcess } from '../../src/http/handler.js';
import { accessPolicyFrom } from '../../src/http/security.js';
import type { HttpContext } from '../../src/http/types.js';
import { DASHBOARD_ASSETS } from '../../src/serve/dashboard-setup.js';
import { removeTempDirs } from '../helpers/apps.js';
import { engineFor } from '../helpers/engine.js';

const ADMIN_KEY = 'valet_admin_dashboard_test';
const { engine, app } = await engineFor('engine-app');
afterAll(async () => {
  await engine.close();
  removeTempDirs();
});

const dashboard = new DashboardHost({
  adminKey: ADMIN_KEY,
  app: 'engine-app',
  mode: 'dev',
  database: 'test',
  logsFile: null,
  assetsDir: DASHBOARD_ASSETS,
  connections: () => engine.connections,
  callsVersion: () => String(engine.calls.version),
  appDir: app,
});
dashboard.setUrl('http://127.0.0.1:3210');
const context: HttpContext = {
  engine,
  adminKey: ADMIN_KEY,
  policy: accessPolicyFrom('dev', '127.0.0.1', {}),
  dashboard,
};
const request = (path: string, init: RequestInit = {}) =>
  requestInProcess(context, `http://127.0.0.1:3210${path}`, init);

let cookie = '';
const api = (path: string, init: RequestInit & { json?: unknown } = {}) =>
  request(`/_dashboard/api/${path}`, {
    ...init,
    method: init.method ?? (init.json === undefined ? 'GET' : 'POST'),
    headers: {
      cookie,
      'x-valet-dashboard': '1',
      ...(init.json === undefined ? {} : { 'content-type': 'application/json' }),
      ...(init.headers as Record<string, string>),
    },
    body: init.json === undefined ? undefined : JSON.stringify(init.json),
  });

beforeAll(async () => {
  const link = new URL(dashboard.access.issueLink('http://127.0.0.1:3210'));
  const response = await request(`${link.pathname}${link.search}`);
  expect(response.status).toBe(302);
  expect(response.headers.get('location')).toBe('/_dashboard/');
  cookie = response.headers.get('set-cookie')!.split(';')[0]!;
  // Once only.
  expect((await request(`${link.pathname}${link.search}`)).status).toBe(403);
});

describe('access', () => {
  it('serves the page with headers that forbid framing, caching and foreign scripts', async () => {
    const page = await request('/_dashboard/');
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('/_dashboard/assets/app.js');
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect((await request('/_dashboard/assets/app.js')).headers.get('content-type')).toMatch(/javascript/);
    for (const path of [
      '/_dashboard/assets/..%2F..%2Fpackage.json',
      '/_dashboard/assets/nope.js',
      '/_dashboard/index.htm',
      '/_dashboard/..%2Fpackage.json',
    ])
      expect((await request(path)).status, path).toBe(404);
  });

  it('answers directory names and dot segments with 404, and every refusal with the page headers', async () => {
    // As a raw client sends them (curl --path-as-is): fetch would resolve the dot segments first.
    for (const path of [
      '/_dashboard/assets/..',
      '/_dashboard/assets/.',
      '/_dashboard/assets/',
      '/_dashboard/assets/%2E%2E',
      '/_dashboard/assets/a/../app.js',
      '/_dashboard/assets/.hidden',
    ]) {
      const reply = await handleRequest(context, {
        method: 'GET',
        url: path,
        pathname: path,
        headers: { host: '127.0.0.1:3210' },
        readBody: async () => Buffer.alloc(0),
        streamBody: () => ({ chunks: [] as never, drain: async () => undefined }),
      });
      const headers = new Map<string, string>();
      for (let i = 0; i < reply.headers.length; i += 2)
        headers.set(String(reply.headers[i]).toLowerCase(), String(reply.headers[i + 1]));
      expect(reply.status, path).toBe(404);
      expect(headers.get('x-frame-options'), path).toBe('DENY');
      expect(headers.get('content-security-policy'), path).toContain("frame-ancestors 'none'");
      expect(headers.get('x-content-type-options'), path).toBe('nosniff');
    }
    for (const [path, init] of [
      ['/_dashboard/', { method: 'DELETE' }],
      ['/_dashboard/api/nope', { headers: { cookie, 'x-valet-dashboard': '1' } }],
      ['/_dashboard/api/state', {}],
    ] as const) {
      const response = await request(path, init);
      expect(response.status, path).toBeGreaterThanOrEqual(400);
      expect(response.status, path).toBeLessThan(500);
      expect(response.headers.get('x-frame-options'), path).toBe('DENY');
      expect(response.headers.get('cache-control'), path).toBe('no-store');
    }
  });

  it('needs the cookie, unchanged and of this server, and the dashboard header', async () => {
    expect((await api('state', { headers: { cookie: '' } })).status).toBe(401);
    const [name, value] = cookie.split('=') as [string, string];
    const [until, signature] = value.split('.') as [string, string];
    expect((await api('state', { headers: { cookie: `${name}=${Number(until) + 1}.${signature}` } })).status).toBe(401);
    expect((await api('state', { headers: { cookie: `valet_dashboard_9999=${value}` } })).status).toBe(401);
    const other = new DashboardHost({
      adminKey: 'another-key',
      app: 'x',
      mode: 'dev',
      database: 'x',
      logsFile: null,
      assetsDir: DASHBOARD_ASSETS,
      connections: () => null,
      callsVersion: () => '0',
      appDir: app,
    });
    other.setUrl('http://127.0.0.1:3210');
    const link = new URL(other.access.issueLink('http://127.0.0.1:3210'));
    const otherCookie = (
      await requestInProcess({ ...context, dashboard: other }, `http://127.0.0.1:3210${link.pathname}${link.search}`)
    ).headers
      .get('set-cookie')!
      .split(';')[0]!;
    expect((await api('state', { headers: { cookie: otherCookie } })).status).toBe(401);
    expect((await api('state', { headers: { 'x-valet-dashboard': '' } })).status).toBe(400);
    expect(await (await api('state')).json()).toMatchObject({ app: 'engine-app', mode: 'dev' });
    expect(await (await api('session', { headers: { cookie: '' } })).json()).toEqual({ signedIn: false });
  });

  it('answers only its own origin and host, and never with CORS headers', async () => {
    for (const origin of ['http://127.0.0.1:5173', 'http://localhost:3210', 'null']) {
      const response = await api('state', { headers: { origin } });
      expect(response.status, origin).toBe(403);
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
    }
    expect((await api('state', { headers: { origin: 'http://127.0.0.1:3210' } })).status).toBe(200);
    expect((await api('state', { headers: { host: 'rebind.example:3210' } })).status).toBe(403);
    expect(
      (
        await api('state', {
          method: 'OPTIONS',
          headers: { origin: 'http://localhost:5173', 'access-control-request-method': 'GET' },
        })
      ).status,
    ).toBe(403);
  });

  it('is not there at all on a server without a dashboard', async () => {
    const plain = { ...context, dashboard: undefined };
    expect((await requestInProcess(plain, 'http://127.0.0.1:3210/_dashboard/')).status).toBe(404);
    expect(
      (
        await requestInProcess(plain, 'http://127.0.0.1:3210/_dashboard/api/state', {
          headers: { cookie, 'x-valet-dashboard': '1' },
        })
      ).status,
    ).toBe(404);
  });
});

describe('the admin API behind it', () => {
  it('lists functions with their args and checks args as the call would', async () => {
    const { functions } = await (await api('admin/functions')).json();
    expect(functions).toContainEqual(
      expect.objectContaining({
        path: 'users:create',
        module: 'users',
        name: 'create',
        kind: 'mutation',
        args: expect.arrayContaining([{ name: 'email', type: 'string', optional: false }]),
      }),
    );
    expect(
      await (await api('admin/functions/validate', { json: { path: 'users:create', args: { email: 5 } } })).json(),
    ).toEqual({ ok: false, message: expect.stringContaining('args.email') });
    expect(
      await (
        await api('admin/functions/validate', { json: { path: 'users:create', args: { email: 'a@example.com' } } })
      ).json(),
    ).toEqual({ ok: true });
    expect((await api('admin/functions/validate', { json: { path: 'users:nope', args: {} } })).status).toBe(404);
  });

  it('calls functions as the invoker it names', async () => {
    const response = await api('call/action', {
      json: { path: 'actions:systemOnly', args: {} },
      headers: { 'x-valet-as': 'user:ada' },
    });
    expect(await response.json()).toEqual({ value: expect.objectContaining({ type: 'user', userId: 'ada' }) });
    expect(
      await (await api('call/query', { json: { path: 'users:byEmail', args: { email: 5 } } })).json(),
    ).toMatchObject({ code: 'invalid_args' });
  });

  it('re-runs an invocation as a new one linked to it, with the same or edited args', async () => {
    const first = await api('call/action', {
      json: { path: 'actions:countRun', args: { label: 'dash-1' } },
      headers: { 'x-valet-as': 'user:ada' },
    });
    const id = first.headers.get('valet-invocation-id')!;
    const again = await (await api(`admin/invocations/${id}/rerun`, { json: { args: { label: 'dash-2' } } })).json();
    expect(again).toMatchObject({ invocationId: expect.any(String), status: 200 });
    const rerun = await (await api(`admin/invocations/${again.invocationId}`)).json();
    expect(rerun).toMatchObject({ rerunOf: id, args: { label: 'dash-2' }, invoker: { type: 'user', userId: 'ada' } });
    expect((await api('admin/invocations/nope/rerun', { json: {} })).status).toBe(404);
    expect((await api(`admin/invocations/${id}/rerun`, { json: { args: { label: 7 } } })).status).toBe(200);
    expect((await api('admin/invocations?since=yesterday')).status).toBe(400);
  });

  it('writes documents through the engine with the schema enforced, pages and exports them', async () => {
    const inserted = await api('admin/data/users', { json: { document: { email: 'dash@example.com', age: 30 } } });
    expect(inserted.status).toBe(200);
    const { id } = await inserted.json();
    const bad = await api('admin/data/users', { json: { document: { email: 42 } } });
    expect(bad.status).toBe(400);
    expect((await bad.json()).message).toMatch(/email/);
    expect((await api('admin/data/users', { json: { document: 'x' } })).status).toBe(400);
    expect((await api('admin/data/nope', { json: { document: {} } })).status).toBe(404);
    expect(
      (
        await api(`admin/data/users/${id}`, {
          method: 'PUT',
          json: { document: { email: 'dash2@example.com', age: 31, _id: 'ignored' } },
        })
      ).status,
    ).toBe(200);
    const page = await (await api('admin/data/users?index=by_email&eq=%22dash2%40example.com%22')).json();
    expect(page.documents).toEqual([expect.objectContaining({ _id: id, email: 'dash2@example.com', age: 31 })]);
    expect((await api('admin/data/users?index=nope')).status).toBe(400);
    expect((await api('admin/data/users?index=by_email&eq=not-json')).status).toBe(400);
    expect((await api('admin/data/users?cursor=garbage')).status).toBe(400);
    const exported = await (await api('admin/data/users/export')).text();
    expect(
      exported
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line)),
    ).toContainEqual(expect.objectContaining({ _id: id, email: 'dash2@example.com' }));
    expect((await api(`admin/data/accounts/${id}`, { method: 'DELETE' })).status).toBe(404);
    expect((await api(`admin/data/users/${id}`, { method: 'DELETE' })).status).toBe(200);
    const gone = await api(`admin/data/users/${id}`, { method: 'PUT', json: { document: { email: 'x@example.com' } } });
    expect(gone.status).toBe(404);
    expect((await gone.json()).message).toMatch(/deleted meanwhile/);
    const { tables } = await (await api('admin/data')).json();
    expect(tables).toContainEqual(
      expect.objectContaining({
        name: 'users',
        declared: true,
        indexes: expect.arrayContaining([{ name: 'by_email', fields: ['email'] }]),
      }),
    );
  });

  it('tells open pages when anything was committed', async () => {
    const before = await engine.connections.changeMarker();
    const heard = new Promise<string[]>((resolve) => {
      const stop = dashboard.feed.subscribe((topics) => {
        stop();
        resolve(topics);
      });
    });
    // The feed reads its first markers, then hears the write.
    await expect.poll(() => dashboard.feed.watching, { timeout: 30_000, interval: 10 }).toBe(true);
    await api('admin/data/runs', { json: { document: { label: 'marker' } } });
    expect(await heard).toContain('db');
    expect(await engine.connections.changeMarker()).not.toBe(before);
  });

  it('refuses to retry a message that did not fail and to cancel work that is not pending', async () => {
    expect((await api('admin/outbox/nope/retry', { json: {} })).status).toBe(409);
    expect((await api('admin/scheduled/nope/cancel', { json: {} })).status).toBe(409);
    expect(await (await api('admin/crons')).json()).toEqual({ jobs: expect.any(Array) });
    expect(await (await api('admin/logs')).json()).toEqual({ logs: [] });
  });
});
