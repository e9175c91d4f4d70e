// Convex's pagination demo, ported (test/fixtures/pagination-app): it type-checks as ported, and in
// real Chromium its live paginated list keeps every message while rows are added between pages —
// where a hand-made list of one subscription per page lost one (m12…m1 without m8).
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../helpers/browser.js';
import { afterAll, expect, it } from 'vitest';
import { fixtureApp, REPO_ROOT, removeTempDirs, valet, valetAsync } from '../helpers/apps.js';
import { freePort, killAll, spawnValet } from '../helpers/processes.js';

let browser: Browser | null = null;
afterAll(async () => {
  await browser?.close();
  killAll();
  removeTempDirs();
});

it('the ported demo type-checks, and its list keeps every message while rows arrive between pages', async () => {
  const app = fixtureApp('pagination-app', [
    'typescript',
    'react',
    'react-dom',
    'vite',
    '@types/react',
    '@types/react-dom',
    '@types/node',
  ]);
  expect(valet(['codegen'], app).code).toBe(0);
  const check = await valetAsync(['check'], app);
  expect(check.code, check.stderr).toBe(0);

  const valetPort = await freePort();
  const url = `http://127.0.0.1:${valetPort}`;
  const dev = spawnValet(['dev', '--port', String(valetPort), '--no-typecheck'], app);
  await dev.waitFor(/Valet dev: .*\(ready in/);
  const send = async (body: string) => {
    const response = await fetch(`${url}/api/mutation`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ path: 'messages:send', args: { body, author: 'api' } }),
    });
    expect(response.status).toBe(200);
  };
  for (let i = 1; i <= 12; i++) await send(`m${i}`);

  const webPort = await freePort();
  const vite = spawn(
    process.execPath,
    [join(app, 'node_modules/vite/bin/vite.js'), '--port', String(webPort), '--strictPort', '--host', '127.0.0.1'],
    {
      cwd: app,
      env: { ...process.env, VITE_VALET_URL: url },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('vite did not start')), 30_000);
      vite.stdout!.on('data', (chunk) => String(chunk).includes(`${webPort}`) && (clearTimeout(timer), resolve()));
    });
    browser = await launchChromium();
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${webPort}/`);
    const bodies = () => page.locator('ul[aria-label="messages"] .body').allTextContents();
    const status = () => page.getByTestId('status').textContent();
    const expectBodies = (expected: string[]) => expect.poll(bodies, { timeout: 30_000 }).toEqual(expected);
    const range = (from: number, to: number) => Array.from({ length: from - to + 1 }, (_, i) => `m${from - i}`);

    await expectBodies(range(12, 8));
    await page.getByRole('button', { name: 'Load More' }).click();
    await expectBodies(range(12, 3));

    // Rows arrive while two pages are loaded: the newest page grows, no page loses its last row.
    await send('m13');
    await expectBodies(range(13, 3));
    await page.getByRole('button', { name: 'Load More' }).click();
    await expectBodies(range(13, 1));
    await expect.poll(status).toBe('Exhausted');
    await send('m14');
    await page.getByPlaceholder('Write a message…').fill('m15');
    await page.getByRole('button', { name: 'Send' }).click();
    await expectBodies(range(15, 1));

    mkdirSync(join(REPO_ROOT, 'test-artifacts'), { recursive: true });
    await page.screenshot({ path: join(REPO_ROOT, 'test-artifacts', 'pagination-demo.png'), fullPage: true });
  } finally {
    vite.kill('SIGKILL');
    await dev.stop('SIGINT');
  }
});
