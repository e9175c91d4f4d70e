// valet/auth end to end on the built CLI: `valet start` signs a person up (the code read from the
// captured outbox with `valet outbox ls`), `valet auth sessions` lists the session, and
// `valet auth sessions revoke` ends it — its access token and refresh token are refused at once.
import { afterAll, expect, it } from 'vitest';
import { fixtureApp, removeTempDirs, valet } from '../helpers/apps.js';
import { freePort, killAll, spawnValet } from '../helpers/processes.js';

afterAll(() => {
  killAll();
  removeTempDirs();
});

async function post(url: string, path: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as any };
}

it('lists and revokes valet/auth sessions from the CLI', async () => {
  const app = fixtureApp('signin-app');
  expect(valet(['codegen'], app).code).toBe(0);
  const server = spawnValet(['start', '--port', String(await freePort())], app);
  const url = (await server.waitFor(/Valet serving \d+ functions at (http:\/\/127\.0\.0\.1:\d+)/))[1]!;
  expect(server.output()).toContain('valet/auth');

  expect(
    (await post(url, '/api/auth/signin', { provider: 'email', params: { email: 'cli@example.com' } })).body,
  ).toEqual({ started: true });
  const outbox = valet(['outbox', 'ls', '--json'], app);
  expect(outbox.code, outbox.stderr).toBe(0);
  const subject = (JSON.parse(outbox.stdout) as { subject: string }[]).find((e) => /\d{8}$/.test(e.subject))!.subject;
  const signedIn = await post(url, '/api/auth/signin', {
    provider: 'email',
    params: { email: 'cli@example.com', code: subject.slice(-8) },
  });
  expect(signedIn.status).toBe(200);

  const listed = valet(['auth', 'sessions', '--json'], app);
  expect(listed.code, listed.stderr).toBe(0);
  const [session] = JSON.parse(listed.stdout) as { id: string; status: string; provider: string }[];
  expect(session).toMatchObject({ status: 'active', provider: 'email' });
  // No secret in what the CLI prints.
  expect(listed.stdout).not.toContain(signedIn.body.refreshToken);

  const revoked = valet(['auth', 'sessions', 'revoke', session!.id], app);
  expect(revoked.code, revoked.stderr).toBe(0);
  expect(revoked.stdout).toContain('Revoked 1 session');
  const query = await post(
    url,
    '/api/query',
    { path: 'me:viewer', args: {} },
    { authorization: `Bearer ${signedIn.body.token}` },
  );
  expect(query).toMatchObject({ status: 401, body: { code: 'session_revoked' } });
  expect((await post(url, '/api/auth/refresh', { refreshToken: signedIn.body.refreshToken })).status).toBe(401);
  expect(JSON.parse(valet(['auth', 'sessions', '--json'], app).stdout)[0].status).toBe('revoked');
  // Revoking it again says so.
  expect(valet(['auth', 'sessions', 'revoke', session!.id], app).code).toBe(1);
  await server.stop('SIGTERM');
});
