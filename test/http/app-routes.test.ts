// The app's own HTTP routes (valet/http.ts) through the real request handler: a route for OPTIONS
// receives its preflight; the default preflight answers only when no route matches.
import { afterAll, describe, expect, it } from 'vitest';
import { requestInProcess } from '../../src/http/handler.js';
import { accessPolicyFrom } from '../../src/http/security.js';
import type { HttpContext } from '../../src/http/types.js';
import { removeTempDirs } from '../helpers/apps.js';
import { engineFor } from '../helpers/engine.js';

afterAll(removeTempDirs);

describe('/http/* routes', async () => {
  const { engine } = await engineFor('engine-app');
  afterAll(() => engine.close());
  const context: HttpContext = { engine, adminKey: 'k', policy: accessPolicyFrom('dev', '127.0.0.1', {}) };
  const request = (path: string, init: RequestInit = {}) =>
    requestInProcess(context, `http://127.0.0.1:3210${path}`, init);

  it('passes OPTIONS to a route that declares it, with the full URL as request.url', async () => {
    const response = await request('/http/cors?x=1', {
      method: 'OPTIONS',
      headers: { origin: 'https://elsewhere.example' },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get('x-handled-by')).toBe('route');
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.headers.get('x-url')).toBe('http://127.0.0.1:3210/http/cors?x=1');
  });

  it('answers the default preflight where no route takes OPTIONS', async () => {
    const local = await request('/http/echo', { method: 'OPTIONS', headers: { origin: 'http://localhost:5173' } });
    expect(local.status).toBe(204);
    expect(local.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    expect(
      (await request('/http/echo', { method: 'OPTIONS', headers: { origin: 'https://elsewhere.example' } })).status,
    ).toBe(403);
  });

  it('leaves CORS of other methods to the route', async () => {
    const response = await request('/http/cors', {
      method: 'POST',
      headers: { origin: 'https://elsewhere.example' },
      body: 'x',
    });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('posted');
  });
});
