// The dashboard on a real `valet dev` of the basic template, in Debian's Chromium: every page
// driven the way a developer uses it (run a function, watch its invocation arrive, re-run it with
// other args, edit a document while a client's live query watches, read a captured email,
// retry a dead letter, trigger a cron, cancel a scheduled call), the bad inputs (invalid JSON,
// a schema violation, a document deleted meanwhile, a broken save, a server restart), and the
// attacks: another origin — even another port of 127.0.0.1, which the browser counts as the same
// site — and a rebinding Host can neither read nor drive it. Screenshots go to test-artifacts/dashboard/.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { WebSocket } from 'ws';
import { CHROMIUM, launchChromium } from '../helpers/browser.js';
import { afterAll, expect, it } from 'vitest';
import { ValetClient } from '../../src/client/index.js';
import { functionRef } from '../../src/server/index.js';
import { linkedTemplateApp, REPO_ROOT, removeTempDirs, valet } from '../helpers/apps.js';
import { freePort, killAll, spawnValet } from '../helpers/processes.js';
import type { RunningValet } from '../helpers/processes.js';
import { startSmtpServer } from '../helpers/smtp.js';

const SHOTS = join(REPO_ROOT, 'test-artifacts', 'dashboard');
let browser: Browser | null = null;

afterAll(async () => {
  await browser?.close();
  killAll();
  removeTempDirs();
});

async function shoot(page: Page, name: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/**
 * What the run form shows once the call it just started answers: its result, or (failing the
 * test with the message) its error. The form shows "Running…" in between, so an earlier result
 * on the page is never mistaken for this one.
 */
async function callOutcome(page: Page): Promise<string> {
  const outcome = page.locator('[data-testid="call-result"], [data-testid="call-error"]');
  await outcome.first().waitFor();
  const error = await page.getByTestId('call-error').count();
  if (error > 0) throw new Error(`the call failed: ${await page.getByTestId('call-error').textContent()}`);
  return (await page.getByTestId('call-result').textContent())!;
}

/** Status of a GET with headers of our choosing (fetch will not send another Host). */
function raw(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject).end();
  });
}

function startDev(app: string, port: number, env: NodeJS.ProcessEnv): RunningValet {
  return spawnValet(['dev', '--port', String(port), '--no-typecheck'], app, env);
}

it('shows and drives every part of a running app, live, to its own pages only', async () => {
  expect(existsSync(CHROMIUM), 'Chromium is missing: run scripts/install-browser.sh').toBe(true);
  const app = await linkedTemplateApp('basic', 'shop');
  const smtp = await startSmtpServer();
  const port = await freePort();
  const env = { VALET_SMTP_URL: smtp.url, VALET_OUTBOX_MAX_ATTEMPTS: '1' };
  let dev = startDev(app, port, env);
  try {
    const [, url, link] = (await dev.waitFor(
      /Valet dev: \d+ functions at (http:\/\/127\.0\.0\.1:\d+)[^\n]*\n\s*Dashboard: (\S+)/,
    ))!;
    expect(link).toMatch(new RegExp(`^${url}/_dashboard/login\\?token=[\\w-]{20,}$`));

    // Without the link's cookie: nothing but the sign-in hint.
    const anonymous = await fetch(`${url}/_dashboard/api/admin/functions`, { headers: { 'x-valet-dashboard': '1' } });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('access-control-allow-origin')).toBeNull();
    expect((await fetch(`${url}/_dashboard/login?token=guessed`, { redirect: 'manual' })).status).toBe(403);

    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    const page = await context.newPage();
    page.on('dialog', (dialog) => void dialog.accept());
    await page.goto(link!);
    expect(page.url()).toBe(`${url}/_dashboard/`);
    await page.getByText('shop').first().waitFor();
    await page.getByText('Serving').waitFor();
    await page.getByTestId('connection').filter({ hasText: 'Live' }).waitFor();
    // The link worked once.
    const reused = await fetch(link!, { redirect: 'manual' });
    expect(reused.status).toBe(403);
    const cookie = (await context.cookies()).find((c) => c.name === `valet_dashboard_${port}`)!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/_dashboard' });
    expect(readFileSync(join(app, '.valet', 'admin-key'), 'utf8')).not.toContain(cookie.value);

    // Functions: args checked as you type; run as a user.
    await page.getByRole('link', { name: 'create mutation' }).click();
    const args = page.getByLabel('args');
    await args.fill('{"email": ');
    await page
      .getByTestId('args-check')
      .filter({ hasText: /^Invalid JSON/ })
      .waitFor();
    await args.fill('{"email": 5}');
    await page.getByTestId('args-check').filter({ hasText: 'args.email' }).waitFor();
    await args.fill('{"email": "ada@example.com", "name": "Ada"}');
    await page.getByTestId('args-check').filter({ hasText: 'args match' }).waitFor();
    await page.getByLabel('run as').selectOption('user');
    await page.getByLabel('user id').fill('ada');
    await page.getByRole('button', { name: 'Run mutation' }).click();
    const userId = JSON.parse(await callOutcome(page)) as string;
    expect(userId).toMatch(/^\w+$/);
    await shoot(page, 'functions');

    // Invocations: a second tab on the list sees a new one arrive by itself.
    const watcher = await context.newPage();
    watcher.on('dialog', (dialog) => void dialog.accept());
    await watcher.goto(`${url}/_dashboard/#/invocations`);
    await watcher.getByText('No invocations yet').waitFor();
    await page.getByRole('link', { name: 'sendWelcomeEmail action' }).click();
    await page.getByLabel('args').fill(JSON.stringify({ userId }));
    await page.getByLabel('run as').selectOption('user');
    await page.getByLabel('user id').fill('ada');
    await page.getByRole('button', { name: 'Run action' }).click();
    expect(await callOutcome(page)).toContain('"accepted": true');
    await watcher.getByTestId('invocation').filter({ hasText: 'actions:sendWelcomeEmail' }).waitFor({ timeout: 5000 });
    await shoot(watcher, 'invocations');

    // Re-run with edited args: a new invocation, linked to the first; one with args that do not
    // match the validators is refused with the reason.
    await watcher.getByTestId('invocation').first().getByRole('link').first().click();
    await watcher.getByTestId('invocation-result').filter({ hasText: 'accepted' }).waitFor();
    const firstInvocation = watcher.url().split('/').pop()!;
    await watcher.getByLabel('args to re-run with').fill('{"userId": 7}');
    await watcher.getByRole('button', { name: 'Re-run' }).click();
    await watcher.getByRole('alert').filter({ hasText: 'invalid_args' }).waitFor();
    await watcher.getByLabel('args to re-run with').fill(JSON.stringify({ userId }, null, 1));
    await watcher.getByRole('button', { name: 'Re-run' }).click();
    await watcher.waitForURL((u) => !u.hash.endsWith(firstInvocation));
    await watcher.getByText(`Re-run of ${firstInvocation}`).waitFor();
    await watcher.getByTestId('invocation-result').filter({ hasText: 'accepted' }).waitFor();
    await shoot(watcher, 'invocation');
    const logged = JSON.parse(valet(['invocations', 'ls', '--json'], app).stdout) as {
      id: string;
      rerunOf: string | null;
    }[];
    expect(logged.map((i) => i.rerunOf)).toEqual([firstInvocation, null]);

    // Email: the welcome email, its HTML rendered in a sandboxed frame; a dead letter retried.
    await watcher.goto(`${url}/_dashboard/#/email`);
    await watcher.getByRole('link', { name: 'Welcome to Valet' }).first().click();
    await watcher.frameLocator('iframe.mail-frame').getByRole('heading', { name: 'Hello Ada' }).waitFor();
    expect(await watcher.locator('iframe.mail-frame').getAttribute('sandbox')).toBe('');
    await shoot(watcher, 'email');
    smtp.mode = { kind: 'reject', code: 550 };
    await page.goto(`${url}/_dashboard/#/functions/actions%3AsendWelcomeEmail`);
    await page.getByLabel('args').fill(JSON.stringify({ userId }));
    await page.getByLabel('run as').selectOption('user');
    await page.getByLabel('user id').fill('ada');
    await page.getByRole('button', { name: 'Run action' }).click();
    await watcher.goto(`${url}/_dashboard/#/email?status=dead`);
    await watcher.getByLabel('status').selectOption('dead');
    await watcher.getByTestId('message').first().getByRole('link').click();
    smtp.mode = { kind: 'accept' };
    await watcher.getByRole('button', { name: 'Retry' }).click();
    await watcher.locator('h1 .badge-sent').waitFor({ timeout: 10_000 });
    await watcher
      .getByText(/rejected 550/)
      .first()
      .waitFor();

    // Data: a client's live query updates when a document is edited here; a bad edit is refused.
    const client = new ValetClient(url!, { WebSocket: WebSocket as never });
    const seen: string[][] = [];
    const stop = client.subscribe(functionRef('users:list', 'query', { access: 'public' }), {}, (value) =>
      seen.push((value as { email: string }[]).map((u) => u.email)),
    );
    await expect.poll(() => seen.at(-1)).toEqual(['ada@example.com']);
    await page.goto(`${url}/_dashboard/#/data/users`);
    // The grid: a cell edited in place while the live query watches; an edit the schema refuses
    // (a required field cleared) says why and keeps the editor open.
    const emailCell = () => page.getByTestId('document-row').first().locator('td[data-field="email"]');
    const cellEditor = page.getByLabel(`edit email of ${userId}`);
    // The grid may draw its rows again right after the first load (the page's live refresh): a
    // double-click on the row it replaced opens nothing, so it is given again until the editor shows.
    for (let attempt = 1; ; attempt++) {
      await emailCell().dblclick();
      const opened = await cellEditor.waitFor({ timeout: 5_000 }).then(
        () => true,
        () => false,
      );
      if (opened) break;
      if (attempt === 5) throw new Error('double-clicking the email cell never opened its editor');
    }
    await cellEditor.fill('');
    await cellEditor.press('Enter');
    await page.getByRole('alert').filter({ hasText: 'email' }).waitFor();
    await cellEditor.fill('ada@lovelace.dev');
    await cellEditor.press('Enter');
    await expect.poll(() => seen.at(-1)).toEqual(['ada@lovelace.dev']);
    await emailCell().filter({ hasText: 'ada@lovelace.dev' }).waitFor();
    await page.getByLabel('new document').fill('{"email": "grace@example.com"}');
    await page.getByRole('button', { name: 'Insert' }).click();
    await expect.poll(() => seen.at(-1)).toEqual(['grace@example.com', 'ada@lovelace.dev']);
    // Sorted by the index on a column's field (ascending, then descending); filtered with the builder.
    await page.getByRole('button', { name: /^email/ }).click();
    await emailCell().filter({ hasText: 'ada@lovelace.dev' }).waitFor();
    await page.getByRole('button', { name: /^email/ }).click();
    await emailCell().filter({ hasText: 'grace@example.com' }).waitFor();
    await page.getByLabel('filter field').fill('email');
    await page.getByLabel('filter value').fill('ada@lovelace.dev');
    await page.getByRole('button', { name: 'Add filter' }).click();
    await expect.poll(() => page.getByTestId('document-row').count()).toBe(1);
    await emailCell().filter({ hasText: 'ada@lovelace.dev' }).waitFor();
    await shoot(page, 'data-grid');
    await page.getByRole('button', { name: 'remove filter email' }).click();
    await expect.poll(() => page.getByTestId('document-row').count()).toBe(2);
    // The JSON view, one click away: a document deleted (by another tab) while this one edits it.
    await page
      .getByTestId('document-row')
      .filter({ hasText: 'grace@example.com' })
      .getByRole('button', { name: 'JSON' })
      .click();
    await page.getByLabel(/^edit \w+$/).waitFor();
    await watcher.goto(`${url}/_dashboard/#/data/users`);
    await watcher
      .getByTestId('document-row')
      .filter({ hasText: 'grace@example.com' })
      .getByRole('button', { name: 'Delete' })
      .click();
    await expect.poll(() => seen.at(-1)).toEqual(['ada@lovelace.dev']);
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('alert').filter({ hasText: 'deleted meanwhile' }).waitFor();
    await page.getByRole('button', { name: 'Cancel' }).click();
    await shoot(page, 'data');
    stop();
    client.close();

    // Scheduled: a purchase schedules its review request in three days; cancel it.
    await page.goto(`${url}/_dashboard/#/functions/purchases%3Arecord`);
    await page.getByLabel('args').fill('{"item": "lamp", "amountCents": 4500}');
    await page.getByLabel('run as').selectOption('user');
    await page.getByLabel('user id').fill('ada');
    await page.getByRole('button', { name: 'Run mutation' }).click();
    await callOutcome(page);
    await page.goto(`${url}/_dashboard/#/scheduled`);
    const review = page.getByTestId('scheduled').filter({ hasText: 'purchases:askForReview' });
    await review.getByRole('button', { name: 'Cancel' }).click();
    await review.getByText('canceled').waitFor();
    await shoot(page, 'scheduled');

    // Logs: the scheduled notify action's line arrives live; filter by text.
    await page.goto(`${url}/_dashboard/#/logs`);
    await page.getByTestId('log-line').filter({ hasText: 'PURCHASE_NOTIFY_URL' }).waitFor({ timeout: 10_000 });
    await page.getByLabel('text').fill('no such line');
    await page.getByText('No log lines yet').waitFor();
    await page.getByLabel('text').fill('');
    await shoot(page, 'logs');
    // A query's or mutation's id (log lines carry one) is not in the action invocation log: said so, no re-run.
    await page.goto(`${url}/_dashboard/#/invocations/not-an-action`);
    await page.getByText('not-an-action is not an action invocation').waitFor();
    expect(await page.getByRole('form', { name: 're-run' }).isHidden()).toBe(true);

    // Crons: run the daily digest now; its run shows up.
    await page.goto(`${url}/_dashboard/#/crons`);
    await page
      .getByTestId('cron-job')
      .filter({ hasText: 'daily-digest' })
      .getByRole('button', { name: 'Run now' })
      .click();
    await page.getByTestId('cron-run').filter({ hasText: 'by hand' }).waitFor({ timeout: 10_000 });
    await shoot(page, 'crons');

    // A broken save shows in the header with its code frame, and goes when fixed.
    const users = join(app, 'valet/users.ts');
    const original = readFileSync(users, 'utf8');
    writeFileSync(
      users,
      original.replace('export const list = defineQuery({', 'export const list = defineQuery({ oops'),
    );
    const failure = page.getByRole('alert', { name: 'build error' });
    await failure.getByText(/valet\/users\.ts:\d+:\d+/).waitFor({ timeout: 15_000 });
    await failure.getByText('the last good build keeps serving').waitFor();
    await shoot(page, 'build-error');
    writeFileSync(users, original);
    await failure.waitFor({ state: 'detached', timeout: 15_000 });

    // A restart while the page is open: it says so, then carries on by itself.
    expect(await dev.stop('SIGINT')).toBe(0);
    await page.getByTestId('connection').filter({ hasText: 'Reconnecting' }).waitFor({ timeout: 10_000 });
    dev = startDev(app, port, env);
    await dev.waitFor(/Dashboard: /);
    await page.getByTestId('connection').filter({ hasText: 'Live' }).waitFor({ timeout: 15_000 });
    await page.getByTestId('cron-run').first().waitFor();

    // Attacks. A page on another port of 127.0.0.1 is the same site, so the browser would send
    // the cookie along: the server must still refuse it (own origin only, a header only a
    // same-origin page can send), and never answer it with CORS headers.
    const evil = createServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>evil</title>'),
    );
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
    try {
      const evilPage = await context.newPage();
      await evilPage.goto(`http://127.0.0.1:${(evil.address() as AddressInfo).port}/`);
      const outcome = await evilPage.evaluate(async (target) => {
        const results: string[] = [];
        for (const attempt of [
          () =>
            fetch(`${target}/_dashboard/api/admin/functions`, {
              credentials: 'include',
              headers: { 'x-valet-dashboard': '1' },
            }),
          () => fetch(`${target}/_dashboard/api/admin/functions`, { credentials: 'include' }),
          () => fetch(`${target}/_dashboard/api/state`, { credentials: 'include' }),
        ]) {
          try {
            const response = await attempt();
            results.push(`read ${response.status}`);
          } catch {
            results.push('blocked');
          }
        }
        // Blind writes: a form-like POST and a no-cors insert.
        await fetch(`${target}/_dashboard/api/admin/data/users`, {
          method: 'POST',
          mode: 'no-cors',
          credentials: 'include',
          headers: { 'content-type': 'text/plain' },
          body: '{"document":{"email":"evil@example.com"}}',
        }).catch(() => undefined);
        await fetch(`${target}/_dashboard/api/admin/cron/trigger`, {
          method: 'POST',
          mode: 'no-cors',
          credentials: 'include',
          body: '{"job":"daily-digest"}',
        }).catch(() => undefined);
        return results;
      }, url!);
      expect(outcome).toEqual(['blocked', 'blocked', 'blocked']);
      expect(JSON.parse(valet(['data', 'users', '--json'], app).stdout).map((u: { email: string }) => u.email)).toEqual(
        ['ada@lovelace.dev'],
      );
    } finally {
      evil.close();
    }
    // DNS rebinding: the same server under another name answers nothing, cookie or not.
    const cookieHeader = `${cookie.name}=${cookie.value}`;
    const rebound = await raw(`${url}/_dashboard/api/state`, {
      host: `attacker.example:${port}`,
      cookie: cookieHeader,
      'x-valet-dashboard': '1',
    });
    expect(rebound).toBe(403);
    const foreign = await fetch(`${url}/_dashboard/api/state`, {
      headers: { origin: 'http://127.0.0.1:1', cookie: cookieHeader, 'x-valet-dashboard': '1' },
    });
    expect(foreign.status).toBe(403);
    const events = await fetch(`${url}/_dashboard/api/events`, {
      headers: { origin: 'http://evil.example', cookie: cookieHeader },
    });
    expect(events.status).toBe(403);
    // The page's own requests, for contrast: the same cookie works from its own origin.
    expect(
      (await fetch(`${url}/_dashboard/api/state`, { headers: { cookie: cookieHeader, 'x-valet-dashboard': '1' } }))
        .status,
    ).toBe(200);
    expect((await fetch(`${url}/_dashboard/api/state`, { headers: { cookie: cookieHeader } })).status).toBe(400);
    // A new link from the CLI signs another browser in.
    const fresh = valet(['dashboard'], app).stdout.trim();
    expect(fresh).toMatch(/\/_dashboard\/login\?token=/);
    expect((await fetch(fresh, { redirect: 'manual' })).headers.get('set-cookie')).toMatch(
      new RegExp(`^valet_dashboard_${port}=\\d+\\.[\\w-]+; Path=/_dashboard; HttpOnly; SameSite=Strict`),
    );
  } finally {
    await dev.stop('SIGINT');
    await smtp.close();
  }
});

it('valet start serves the dashboard only when asked, behind its one-time link', async () => {
  const app = await linkedTemplateApp('basic', 'prod');
  const plain = spawnValet(['start', '--port', String(await freePort())], app);
  const plainUrl = (await plain.waitFor(/at (http:\/\/127\.0\.0\.1:\d+)/))[1]!;
  expect((await fetch(`${plainUrl}/_dashboard/`)).status).toBe(404);
  expect(valet(['dashboard'], app).stderr).toMatch(/no dashboard/);
  expect(await plain.stop('SIGINT')).toBe(0);

  const served = spawnValet(['start', '--port', String(await freePort()), '--dashboard'], app);
  try {
    const link = (await served.waitFor(/Dashboard: (\S+)/))[1]!;
    const login = await fetch(link, { redirect: 'manual' });
    expect(login.status).toBe(302);
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const state = await fetch(link.replace(/\/_dashboard\/login.*/, '/_dashboard/api/state'), {
      headers: { cookie, 'x-valet-dashboard': '1' },
    });
    expect(await state.json()).toMatchObject({ app: 'prod', mode: 'start', status: 'serving' });
  } finally {
    await served.stop('SIGINT');
  }
});
