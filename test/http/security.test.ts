// Who may talk to a server, tried in-process through the real request handler (no port): Host
// checks against DNS rebinding, Origin checks and CORS for browser pages, the dev-token and
// admin endpoints closed to other origins, and bad parameters answered with 400s.
import { afterAll, describe, expect, it } from 'vitest';
import { requestInProcess } from '../../src/http/handler.js';
import { accessPolicyFrom } from '../../src/http/security.js';
import type { HttpContext } from '../../src/http/types.js';
import { removeTempDirs } from '../helpers/apps.js';
import { engineFor } from '../helpers/engine.js';

afterAll(removeTempDirs);

const ADMIN_KEY = 'valet_admin_test';
const { engine } = await engineFor('engine-app');
afterAll(() => engine.close());

function contextFor(mode: 'dev' | 'start', env: NodeJS.ProcessEnv = {}, bindHost = '127.0.0.1'): HttpContext {
  return {
    engine,
    adminKey: ADMIN_KEY,
    policy: accessPolicyFrom(mode, bindHost, env),
    devToken: mode === 'dev' ? async (userId) => `token-for-${userId}` : undefined,
  };
}

const dev = contextFor('dev');
const start = contextFor('start');
const call = (
  headers: Record<string, string> = {},
  body: object = { path: 'users:byEmail', args: { email: 'x@example.com' } },
) =>
  ({
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  }) as RequestInit;
const request = (context: HttpContext, path: string, init: RequestInit = {}) =>
  requestInProcess(context, `http://127.0.0.1:3210${path}`, init);

describe('the Host header (DNS rebinding)', () => {
  it.each(['localhost:3210', '127.0.0.1:3210', '[::1]:3210', 'localhost', 'LOCALHOST:80'])(
    'answers %s',
    async (host) => {
      expect((await request(dev, '/api/query', call({ host }))).status).toBe(200);
    },
  );

  it.each([
    'evil.example:3210',
    'evil.example',
    'localhost.evil.example',
    '127.0.0.1.nip.io:3210',
    '10.0.0.5:3210',
    '',
    'localhost:abc',
  ])('refuses %j with 403 naming the setting', async (host) => {
    const response = await request(dev, '/api/query', call({ host }));
    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({
      code: 'host_not_allowed',
      message: expect.stringContaining('VALET_ALLOWED_HOSTS'),
    });
  });

  it('refuses a rebinding Host on every route, the app routes and admin included', async () => {
    for (const path of ['/api/mutation', '/api/dev/token', '/admin/invocations', '/http/anything', '/nowhere']) {
      expect((await request(dev, path, { headers: { host: 'attacker.example:3210' } })).status, path).toBe(403);
    }
  });

  it('answers configured hosts, domains with a leading dot, and the bound address', async () => {
    const configured = contextFor('start', { VALET_ALLOWED_HOSTS: 'api.example.com, .example.org' });
    for (const host of ['api.example.com', 'example.org', 'eu.example.org:8080'])
      expect((await request(configured, '/api/query', call({ host }))).status, host).toBe(200);
    expect((await request(configured, '/api/query', call({ host: 'example.com' }))).status).toBe(403);
    const bound = contextFor('start', {}, '192.168.1.20');
    expect((await request(bound, '/api/query', call({ host: '192.168.1.20:3210' }))).status).toBe(200);
    expect((await request(bound, '/api/query', call({ host: '192.168.1.21:3210' }))).status).toBe(403);
    const everywhere = contextFor('start', {}, '0.0.0.0');
    expect((await request(everywhere, '/api/query', call({ host: '10.1.2.3:3210' }))).status).toBe(200);
    expect((await request(everywhere, '/api/query', call({ host: 'rebound.example:3210' }))).status).toBe(403);
  });

  it('lets health checks through whatever name a load balancer uses', async () => {
    expect((await request(start, '/api/health', { headers: { host: 'internal-lb.example' } })).status).toBe(200);
  });
});

describe('the Origin of browser pages (CORS)', () => {
  it('valet dev: localhost pages on any port may call, with CORS headers', async () => {
    for (const origin of ['http://localhost:5173', 'http://127.0.0.1:8080', 'http://[::1]:3000', 'https://localhost']) {
      const response = await request(dev, '/api/query', call({ origin }));
      expect(response.status, origin).toBe(200);
      expect(response.headers.get('access-control-allow-origin')).toBe(origin);
      expect(response.headers.get('vary')).toBe('origin');
    }
  });

  it('refuses any other page with 403 before anything runs, even a "simple" text/plain write', async () => {
    const before = (
      await engine.call({
        kind: 'query',
        path: 'users:emails',
        args: {},
        invoker: { type: 'anonymous' },
        external: true,
      })
    ).body;
    const response = await request(dev, '/api/mutation', {
      method: 'POST',
      headers: { origin: 'https://evil.example', 'content-type': 'text/plain' },
      body: JSON.stringify({ path: 'users:create', args: { email: 'csrf@example.com' } }),
    });
    expect(response.status).toBe(403);
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    expect(await response.json()).toMatchObject({
      code: 'origin_not_allowed',
      message: expect.stringContaining('VALET_CORS_ORIGINS'),
    });
    expect(
      (
        await engine.call({
          kind: 'query',
          path: 'users:emails',
          args: {},
          invoker: { type: 'anonymous' },
          external: true,
        })
      ).body,
    ).toEqual(before);
  });

  it.each(['null', 'http://localhost.evil.example', 'file://', 'not a url'])(
    'refuses the origin %j',
    async (origin) => {
      expect((await request(dev, '/api/query', call({ origin }))).status).toBe(403);
    },
  );

  it('lets an allowed page read a refusal too (CORS headers on thrown errors), never another page', async () => {
    const refused = await request(dev, '/api/query', {
      method: 'POST',
      headers: { origin: 'http://localhost:5173', 'content-type': 'application/json' },
      body: '{ not json',
    });
    expect(refused.status).toBe(400);
    expect(refused.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    const foreign = await request(dev, '/api/query', {
      method: 'POST',
      headers: { origin: 'https://evil.example', 'content-type': 'application/json' },
      body: '{ not json',
    });
    expect(foreign.status).toBe(403);
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('answers preflights for allowed origins only', async () => {
    const ok = await request(dev, '/api/action', {
      method: 'OPTIONS',
      headers: { origin: 'http://localhost:5173', 'access-control-request-method': 'POST' },
    });
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    expect(ok.headers.get('access-control-allow-headers')).toContain('idempotency-key');
    const refused = await request(dev, '/api/action', {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example' },
    });
    expect(refused.status).toBe(403);
    expect(refused.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('valet start: no other origin unless configured; `*` only when written', async () => {
    expect((await request(start, '/api/query', call({ origin: 'http://localhost:5173' }))).status).toBe(403);
    const configured = contextFor('start', { VALET_CORS_ORIGINS: 'https://app.example.com' });
    const allowed = await request(configured, '/api/query', call({ origin: 'https://app.example.com' }));
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect((await request(configured, '/api/query', call({ origin: 'https://other.example.com' }))).status).toBe(403);
    const anyone = contextFor('start', { VALET_CORS_ORIGINS: '*' });
    expect((await request(anyone, '/api/query', call({ origin: 'https://whoever.example' }))).status).toBe(200);
  });

  it("treats the server's own origin as its own (same-origin pages such as the dashboard)", async () => {
    expect(
      (await request(start, '/api/query', call({ origin: 'http://127.0.0.1:3210', host: '127.0.0.1:3210' }))).status,
    ).toBe(200);
  });

  it('lets callers without an Origin (curl, servers, Node clients) through', async () => {
    expect((await request(start, '/api/query', call())).status).toBe(200);
  });
});

describe('/api/dev/token', () => {
  const token = (headers: Record<string, string>, body: string | object = { userId: 'ada' }) =>
    request(dev, '/api/dev/token', {
      method: 'POST',
      headers,
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  it('signs a token for a localhost page, with CORS for it', async () => {
    const response = await token({ 'content-type': 'application/json', origin: 'http://localhost:5173' });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ token: 'token-for-ada' });
    expect(response.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
  });

  it('never answers another origin', async () => {
    const response = await token({ 'content-type': 'application/json', origin: 'https://evil.example' });
    expect(response.status).toBe(403);
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    expect(JSON.stringify(await response.json())).not.toContain('token-for');
  });

  it('requires a JSON body, so a page cannot skip the preflight with text/plain', async () => {
    expect(await (await token({ 'content-type': 'text/plain' })).json()).toMatchObject({
      code: 'unsupported_media_type',
    });
    expect((await token({})).status).toBe(415);
  });

  it('answers bad bodies with 400, not 500', async () => {
    for (const body of [
      '{',
      '[]',
      '"ada"',
      JSON.stringify({ userId: 7 }),
      JSON.stringify({ userId: 'x'.repeat(65) }),
    ]) {
      const response = await token({ 'content-type': 'application/json' }, body);
      expect(response.status, body).toBe(400);
    }
  });

  it('does not exist under valet start', async () => {
    expect(
      (
        await request(start, '/api/dev/token', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"userId":"ada"}',
        })
      ).status,
    ).toBe(404);
  });
});

describe('/admin/*', () => {
  const admin = (path: string, init: RequestInit = {}, context = dev) =>
    request(context, path, {
      ...init,
      headers: { 'x-valet-admin-key': ADMIN_KEY, ...(init.headers as Record<string, string>) },
    });

  it('needs the admin key', async () => {
    expect((await request(dev, '/admin/invocations')).status).toBe(401);
    expect((await request(dev, '/admin/invocations', { headers: { 'x-valet-admin-key': 'wrong' } })).status).toBe(401);
    expect((await admin('/admin/invocations')).status).toBe(200);
  });

  it('never answers another origin, localhost pages included, and never sends CORS headers', async () => {
    for (const origin of ['https://evil.example', 'http://localhost:5173']) {
      const response = await admin('/admin/invocations', { headers: { origin } });
      expect(response.status, origin).toBe(403);
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
    }
    const own = await admin('/admin/invocations', {
      headers: { origin: 'http://127.0.0.1:3210', host: '127.0.0.1:3210' },
    });
    expect(own.status).toBe(200);
    expect(own.headers.get('access-control-allow-origin')).toBeNull();
  });

  it.each([
    '/admin/invocations?limit=abc',
    '/admin/invocations?limit=0',
    '/admin/invocations?limit=1e3',
    '/admin/outbox?limit=-1',
    '/admin/cron/runs?limit=99999',
    '/admin/invocations?status=lost',
    '/admin/outbox?status=x',
    '/admin/scheduled?status=x',
  ])('%s is a 400 naming the parameter', async (path) => {
    const response = await admin(path);
    expect(response.status).toBe(400);
    expect((await response.json()).message).toMatch(/limit|status/);
  });

  it('answers bad cron trigger bodies with 400 and unknown jobs with 404', async () => {
    const trigger = (body: string, type = 'application/json') =>
      admin('/admin/cron/trigger', { method: 'POST', headers: { 'content-type': type }, body });
    for (const body of ['{', '[]', '{}', '{"job":7}']) expect((await trigger(body)).status, body).toBe(400);
    expect((await trigger('{"job":"every-minute"}', 'text/plain')).status).toBe(415);
    expect(await (await trigger('{"job":"nope"}')).json()).toMatchObject({
      code: 'not_found',
      message: expect.stringContaining('every-minute'),
    });
  });
});
