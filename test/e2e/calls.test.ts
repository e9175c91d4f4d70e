// Every call, seen the way a developer looks for it: a failed mutation, the action a mutation
// scheduled (with its fetch, its email and the mutation it ran) and a cron run each appear with
// their outcome and parent in `valet calls` and on the dashboard's Calls page (Chromium), the
// failing source line included; `valet logs` shows each call's lines with how it ended; the
// Metrics page and /admin/metrics count them. Screenshots in test-artifacts/calls/.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, expect, it } from 'vitest';
import { CHROMIUM, launchChromium } from '../helpers/browser.js';
import { fixtureApp, REPO_ROOT, removeTempDirs, valet } from '../helpers/apps.js';
import { freePort, killAll, spawnValet } from '../helpers/processes.js';

const SHOTS = join(REPO_ROOT, 'test-artifacts', 'calls');
const READY = /Valet dev: \d+ functions at (http:\/\/127\.0\.0\.1:\d+)[^\n]*\n\s*Dashboard: (\S+)/;
let browser: Browser | null = null;

afterAll(async () => {
  await browser?.close();
  killAll();
  removeTempDirs();
});

async function callApi(url: string, kind: string, path: string, args: unknown) {
  const response = await fetch(`${url}/api/${kind}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ path, args }),
  });
  return { status: response.status, body: (await response.json()) as any };
}

interface Listed {
  id: string;
  path: string;
  kind: string;
  outcome: string;
  parent: string | null;
  root: string;
  source: string;
  error: { code: string; message: string } | null;
}

function calls(app: string, ...flags: string[]): Listed[] {
  const result = valet(['calls', 'ls', '--json', '--limit', '200', ...flags], app);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as Listed[];
}

it('shows a failed mutation, a scheduled action and a cron run with their outcome and parent', async () => {
  expect(existsSync(CHROMIUM), 'Chromium is missing: run scripts/install-browser.sh').toBe(true);
  const hooks: string[] = [];
  const receiver = createServer((req, res) => {
    hooks.push(`${req.method} ${req.url}`);
    res.writeHead(204).end();
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook?token=hook-secret`;
  const app = fixtureApp('calls-app');
  const port = await freePort();
  const dev = spawnValet(['dev', '--port', String(port), '--no-typecheck'], app, { HOOK_URL: hookUrl });
  try {
    const [, url, link] = (await dev.waitFor(READY))!;

    // A mutation refused with a ValetError: one line in the terminal, no stack of Valet's insides.
    expect((await callApi(url!, 'mutation', 'todos:add', { text: ' ' })).status).toBe(500);
    await dev.waitFor(/todos:add threw ValetError: text is required \(valet\/todos\.ts:\d+:\d+\)/);
    // A mutation that schedules an action, which runs a mutation, fetches and enqueues an email.
    const added = await callApi(url!, 'mutation', 'todos:add', { text: 'milk' });
    expect(added.status).toBe(200);
    await expect.poll(() => hooks.length).toBe(1);
    await expect.poll(() => calls(app, '--function', 'todos:notify', '--outcome', 'ok').length).toBe(1);
    // A cron run, by hand.
    expect(valet(['cron', 'trigger', 'nightly summary'], app).code).toBe(0);
    await expect.poll(() => calls(app, '--function', 'todos:nightly').length).toBe(1);

    const failed = calls(app, '--function', 'todos:add', '--outcome', 'error');
    expect(failed).toEqual([
      expect.objectContaining({
        kind: 'mutation',
        source: 'http',
        parent: null,
        error: expect.objectContaining({ code: 'application_error', message: 'text is required' }),
      }),
    ]);
    const [ok] = calls(app, '--function', 'todos:add', '--outcome', 'ok');
    const [notify] = calls(app, '--function', 'todos:notify');
    const [note] = calls(app, '--function', 'todos:note');
    expect(notify).toMatchObject({ kind: 'action', source: 'scheduler', parent: ok!.id, root: ok!.id, outcome: 'ok' });
    expect(note).toMatchObject({ parent: notify!.id, root: ok!.id, source: 'function' });
    const [tick] = calls(app, '--kind', 'cron');
    const [nightly] = calls(app, '--function', 'todos:nightly');
    expect(tick).toMatchObject({ path: 'nightly summary', outcome: 'ok' });
    expect(nightly).toMatchObject({ parent: tick!.id, source: 'cron', outcome: 'ok' });
    expect(calls(app, '--outcome', 'error').map((c) => c.path)).toEqual(['todos:add']);

    // valet calls show: the tree of the trace, the fetch without its query string (a token).
    const shown = valet(['calls', 'show', ok!.id], app);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(
      /todos:add[\s\S]*todos:notify[\s\S]*fetch POST http:\/\/127\.0\.0\.1:\d+\/hook → 204[\s\S]*email Todo/,
    );
    expect(shown.stdout).toContain('todos:note');
    expect(shown.stdout).not.toContain('hook-secret');
    // valet logs: the lines of each call, then how it ended.
    const logs = valet(['logs', '--json', '-n', '200'], app);
    const entries = logs.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    const addLines = entries.filter((e) => e.call === ok!.id);
    expect(addLines.map((e) => [e.message, e.outcome ?? null])).toEqual([
      ['adding milk', null],
      [expect.stringMatching(/^ok \(/), 'ok'],
    ]);
    expect(entries.find((e) => e.function === 'todos:add' && e.outcome === 'error').message).toBe(
      'failed: application_error: text is required',
    );
    // The CLI calls above ran with spawnSync, freezing this process's event loop for longer than the
    // server keeps an idle connection (5 s): let the loop see the server's close of the pooled
    // socket before fetch picks it (else "other side closed").
    await new Promise((resolve) => setImmediate(resolve));
    // Metrics for Prometheus: admin only.
    const adminKey = readFileSync(join(app, '.valet', 'admin-key'), 'utf8').trim();
    expect((await fetch(`${url}/admin/metrics`)).status).toBe(401);
    const metrics = await fetch(`${url}/admin/metrics`, { headers: { 'x-valet-admin-key': adminKey } });
    expect(metrics.headers.get('content-type')).toContain('text/plain');
    expect(await metrics.text()).toContain('valet_function_errors_total{function="todos:add",kind="mutation"} 1');

    // The dashboard: Calls, filtered to errors; the failed call's page shows the line that threw.
    browser = await launchChromium();
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    const consoleErrors: string[] = [];
    page.on('console', (message) => message.type() === 'error' && consoleErrors.push(message.text()));
    await page.goto(link!);
    await page.getByRole('link', { name: 'Calls' }).click();
    await page.getByTestId('call').filter({ hasText: 'todos:notify' }).waitFor();
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: join(SHOTS, 'calls.png'), fullPage: true });
    await page.getByLabel('outcome').selectOption('error');
    await expect.poll(() => page.getByTestId('call').count()).toBe(1);
    await page.getByTestId('call').getByRole('link').click();
    await page.getByTestId('call-error').filter({ hasText: 'application_error: text is required' }).waitFor();
    await page.getByLabel('failing line').getByText("throw new ValetError('text is required')").waitFor();
    await page.screenshot({ path: join(SHOTS, 'failed-call.png'), fullPage: true });
    // The mutation's page: its trace, down to the action's fetch, email and mutation.
    await page.goto(`${url}/_dashboard/#/calls/${ok!.id}`);
    const tree = page.getByLabel('trace');
    await tree.getByRole('link', { name: 'todos:notify' }).waitFor();
    await tree.getByRole('link', { name: 'todos:note' }).waitFor();
    await tree
      .getByTestId('trace-event')
      .filter({ hasText: /fetch POST http:\/\/127\.0\.0\.1:\d+\/hook → 204/ })
      .waitFor();
    await tree.getByTestId('trace-event').filter({ hasText: 'email Todo' }).waitFor();
    await page.screenshot({ path: join(SHOTS, 'trace.png'), fullPage: true });
    // The cron run's page: its function beneath it.
    await page.goto(`${url}/_dashboard/#/calls/${tick!.id}`);
    await page.getByLabel('trace').getByRole('link', { name: 'todos:nightly' }).waitFor();
    // Logs: the outcome after a call's lines, linking to the call.
    await page.goto(`${url}/_dashboard/#/logs`);
    await page
      .getByTestId('log-outcome')
      .filter({ hasText: 'text is required' })
      .getByRole('link', { name: '→ call' })
      .click();
    await page.getByTestId('call-error').waitFor();
    // Metrics: a row per function with its chart.
    await page.goto(`${url}/_dashboard/#/metrics`);
    const row = page.getByTestId('metric').filter({ hasText: 'todos:add' });
    await row.locator('svg rect.errors').first().waitFor();
    await page.screenshot({ path: join(SHOTS, 'metrics.png'), fullPage: true });
    // The run form of a paginated query starts with args that pass; the favicon is served.
    await page.goto(`${url}/_dashboard/#/functions/todos%3Apage`);
    await page.getByTestId('args-check').filter({ hasText: 'args match' }).waitFor();
    expect(JSON.parse(await page.getByLabel('args').inputValue())).toEqual({
      paginationOpts: { numItems: 10, cursor: null },
    });
    await page.getByRole('button', { name: 'Run query' }).click();
    await page.getByTestId('call-result').filter({ hasText: 'milk' }).waitFor();
    expect((await fetch(`${url}/favicon.ico`)).headers.get('content-type')).toBe('image/svg+xml');
    expect(consoleErrors).toEqual([]);
  } finally {
    await dev.stop('SIGINT');
    receiver.close();
  }
});
