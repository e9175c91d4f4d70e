// The dashboard's Sessions page in real headless Chromium: a person signed in through valet/auth
// shows up with their provider and state; Revoke ends the session (the token is refused at once)
// and the page says so. No token appears on the page. Screenshot in test-artifacts/auth/.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, expect, it } from 'vitest';
import { launchChromium } from '../helpers/browser.js';
import { fixtureApp, REPO_ROOT, removeTempDirs, valet } from '../helpers/apps.js';
import { freePort, killAll, spawnValet } from '../helpers/processes.js';

const SHOTS = join(REPO_ROOT, 'test-artifacts', 'auth');
const READY = /Valet dev: \d+ functions at (http:\/\/127\.0\.0\.1:\d+)[^\n]*\n\s*Dashboard: (\S+)/;
let browser: Browser | null = null;

afterAll(async () => {
  await browser?.close();
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

it('lists valet/auth sessions on the dashboard and revokes one', async () => {
  const app = fixtureApp('signin-app', ['typescript']);
  const dev = spawnValet(['dev', '--port', String(await freePort()), '--no-typecheck'], app);
  const [, url, link] = await dev.waitFor(READY);
  await post(url!, '/api/auth/signin', { provider: 'email', params: { email: 'dash@example.com' } });
  const outbox = JSON.parse(valet(['outbox', 'ls', '--json'], app).stdout) as { subject: string }[];
  const code = outbox.find((e) => /\d{8}$/.test(e.subject))!.subject.slice(-8);
  const session = (
    await post(url!, '/api/auth/signin', { provider: 'email', params: { email: 'dash@example.com', code } })
  ).body;
  expect(session.token).toEqual(expect.any(String));

  browser = await launchChromium();
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  await page.goto(link!);
  await page.getByRole('link', { name: 'Sessions' }).click();
  const row = page.getByTestId('session').filter({ hasText: 'email' });
  await row.filter({ hasText: 'active' }).waitFor();
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, 'dashboard-sessions.png'), fullPage: true });
  expect(await page.content()).not.toContain(session.refreshToken);
  expect(await page.content()).not.toContain(session.token);

  await row.getByRole('button', { name: 'Revoke', exact: true }).click();
  await row.filter({ hasText: 'revoked' }).waitFor();
  const query = await post(
    url!,
    '/api/query',
    { path: 'me:viewer', args: {} },
    { authorization: `Bearer ${session.token}` },
  );
  expect(query).toMatchObject({ status: 401, body: { code: 'session_revoked' } });
  await dev.stop('SIGINT');
});
