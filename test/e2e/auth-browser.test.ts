// Sign-in in the react template, in real headless Chromium, as a new user meets it: create an
// account with email + password, confirm it with the code `valet dev` captured (read back with
// `valet outbox ls`), see who is signed in, reload and still be signed in, sign out; then sign in
// with an emailed code alone and reach the same user. Screenshots in test-artifacts/auth/.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, expect, it } from 'vitest';
import { CHROMIUM, launchChromium, startVite } from '../helpers/browser.js';
import { linkedTemplateApp, REPO_ROOT, removeTempDirs, valet } from '../helpers/apps.js';
import { freePort, killAll, spawnValet } from '../helpers/processes.js';

const SHOTS = join(REPO_ROOT, 'test-artifacts', 'auth');
let browser: Browser | null = null;

afterAll(async () => {
  await browser?.close();
  killAll();
  removeTempDirs();
});

/** The newest code emailed to `to`, from the outbox `valet dev` captured. */
function emailedCode(app: string, to: string): string {
  const listed = valet(['outbox', 'ls', '--json'], app);
  expect(listed.code, listed.stderr).toBe(0);
  const emails = (JSON.parse(listed.stdout) as { to: string[]; subject: string; createdAt: string }[])
    .filter((e) => e.to.includes(to) && /\d{8}$/.test(e.subject))
    .sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1));
  expect(emails.length, `no code emailed to ${to}`).toBeGreaterThan(0);
  return emails[0]!.subject.slice(-8);
}

async function signedInAs(page: Page, email: string) {
  await page.getByTestId('user').filter({ hasText: email }).waitFor();
}

it('creates an account, confirms it by code, stays signed in across a reload, and signs in by code', async () => {
  expect(existsSync(CHROMIUM), 'Chromium is missing: run scripts/install-browser.sh').toBe(true);
  mkdirSync(SHOTS, { recursive: true });
  const app = await linkedTemplateApp('react', 'web');
  const valetPort = await freePort();
  const dev = spawnValet(['dev', '--port', String(valetPort), '--no-typecheck'], app);
  await dev.waitFor(/Valet dev: .*\(ready in/);
  // The ready line's details (which tokens it verifies) follow it.
  await dev.waitFor(/valet\/auth \(the app's own sign-in\)/);

  const vite = await startVite(app, `http://127.0.0.1:${valetPort}`);
  const webUrl = vite.url;
  try {
    browser = await launchChromium();
    const page = await browser.newPage();
    await page.goto(`${webUrl}/`);

    // A weak password is refused, saying why.
    await page.getByLabel('account email').fill('ada@example.com');
    await page.getByLabel('account password').fill('short');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('alert').filter({ hasText: 'at least 8 characters' }).waitFor();

    await page.getByLabel('account password').fill('correct horse battery');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByLabel('emailed code').waitFor();
    await page.screenshot({ path: join(SHOTS, '1-code-sent.png') });
    await page.getByLabel('emailed code').fill(emailedCode(app, 'ada@example.com'));
    await page.getByRole('button', { name: 'Confirm code' }).click();
    await signedInAs(page, 'ada@example.com');
    await page.screenshot({ path: join(SHOTS, '2-signed-in.png') });

    // A reload keeps the session (the refresh token is kept; the access token refreshed as needed).
    await page.reload();
    await signedInAs(page, 'ada@example.com');

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Log in' }).waitFor();
    // The ended session is over on the server: `valet auth sessions` says revoked.
    const sessions = JSON.parse(valet(['auth', 'sessions', '--json'], app).stdout) as { status: string }[];
    expect(sessions.map((s) => s.status)).toEqual(['revoked']);

    // The wrong password is refused; the right one signs in.
    await page.getByLabel('account email').fill('ada@example.com');
    await page.getByLabel('account password').fill('not the password');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('alert').filter({ hasText: 'wrong' }).waitFor();
    await page.getByLabel('account password').fill('correct horse battery');
    await page.getByRole('button', { name: 'Log in' }).click();
    await signedInAs(page, 'ada@example.com');
    await page.getByRole('button', { name: 'Sign out' }).click();

    // A code alone, as the same person.
    await page.getByLabel('account email').fill('ada@example.com');
    await page.getByRole('button', { name: 'Email me a code' }).click();
    await page.getByLabel('emailed code').waitFor();
    await page.getByLabel('emailed code').fill(emailedCode(app, 'ada@example.com'));
    await page.getByRole('button', { name: 'Confirm code' }).click();
    await signedInAs(page, 'ada@example.com');
    await page.screenshot({ path: join(SHOTS, '3-signed-in-by-code.png') });
    const users = valet(['data', 'users', '--json'], app);
    if (users.code === 0) expect((JSON.parse(users.stdout) as unknown[]).length).toBe(1);
  } finally {
    vite.stop();
    await dev.stop('SIGINT');
  }
});
