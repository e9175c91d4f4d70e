// `valet migrate` through the built CLI: 100 000 documents, the run SIGKILLed part-way, then run
// again — it takes the dead runner's claim over at once, resumes from the last committed batch
// and finishes with every document migrated exactly once; a dry run and --list say what is what;
// beside a running `valet dev`, the run goes through the server, and the dashboard's Migrations
// page (Chromium) lists them, dry-runs and runs one. Screenshot in test-artifacts/migrations/.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, expect, it } from 'vitest';
import { buildAndLoad } from '../../src/bundler/evaluate.js';
import { runCodegen } from '../../src/codegen/index.js';
import { createEngine } from '../../src/runtime/engine.js';
import { storedRows } from '../../src/storage/browse.js';
import { CHROMIUM, launchChromium } from '../helpers/browser.js';
import { fixtureApp, REPO_ROOT, removeTempDirs, valet } from '../helpers/apps.js';
import { freePort, killAll, spawnValet } from '../helpers/processes.js';

const SHOTS = join(REPO_ROOT, 'test-artifacts', 'migrations');
let browser: Browser | null = null;

afterAll(async () => {
  await browser?.close();
  killAll();
  removeTempDirs();
});

const SYSTEM = { type: 'system', source: 'admin' } as const;

async function appWith(todos: number) {
  const app = fixtureApp('migrations-app');
  runCodegen(app);
  const engine = await createEngine({
    modules: await buildAndLoad(app),
    database: join(app, '.valet', 'valet.db'),
    env: {},
  });
  for (let from = 0; from < todos; from += 1000)
    await engine.call({
      kind: 'mutation',
      path: 'todos:seed',
      args: { from, count: 1000 },
      invoker: SYSTEM,
      external: false,
    });
  await engine.close();
  return app;
}

async function visits(app: string): Promise<Map<number | undefined, number>> {
  const engine = await createEngine({
    modules: await buildAndLoad(app),
    database: join(app, '.valet', 'valet.db'),
    env: {},
  });
  try {
    const counts = new Map<number | undefined, number>();
    for await (const row of storedRows(engine.connections.autoCommit.sql, 'todos')) {
      const n = (JSON.parse(row.doc) as { n?: number }).n;
      counts.set(n, (counts.get(n) ?? 0) + 1);
    }
    return counts;
  } finally {
    await engine.close();
  }
}

it('resumes a SIGKILLed migration of 100 000 documents and migrates each exactly once', async () => {
  const app = await appWith(100_000);
  const dry = valet(['migrate', 'migrations:countVisits', '--dry-run'], app);
  expect(dry.code, dry.stderr).toBe(0);
  expect(dry.stdout).toContain(
    'migrations:countVisits: would change 100,000 of 100,000 documents (dry run: nothing written)',
  );
  expect(await visits(app)).toEqual(new Map([[undefined, 100_000]]));

  const first = spawnValet(['migrate', 'migrations:countVisits'], app);
  const [, done] = (await first.waitFor(/migrations:countVisits: running — ([\d,]+) of 100,000 documents/))!;
  expect(Number(done!.replaceAll(',', ''))).toBeLessThan(100_000);
  expect(await first.stop('SIGKILL')).toBe(null);

  const list = valet(['migrate', '--list', '--json'], app);
  const killed = (JSON.parse(list.stdout) as { name: string; status: string; processed: number }[]).find(
    (m) => m.name === 'migrations:countVisits',
  )!;
  expect(killed.status).toBe('running');
  expect(killed.processed).toBeGreaterThan(0);
  expect(killed.processed % 500).toBe(0);

  const again = valet(['migrate', 'migrations:countVisits'], app);
  expect(again.code, again.stderr).toBe(0);
  expect(again.stderr).toMatch(/migrations:countVisits: done — 100,000 of 100,000 documents, 100,000 changed/);
  expect(await visits(app)).toEqual(new Map([[1, 100_000]]));
  const after = JSON.parse(valet(['migrate', '--list', '--json'], app).stdout) as { name: string; status: string }[];
  expect(after.find((m) => m.name === 'migrations:countVisits')!.status).toBe('done');
  expect(valet(['migrate', 'migrations:countVisits'], app).stderr).toContain('already done');
  expect(valet(['migrate', 'migrations:nope'], app)).toMatchObject({
    code: 1,
    stderr: expect.stringContaining('no migration migrations:nope'),
  });
});

it('runs through a running valet dev, whose clients see the documents change', async () => {
  const app = await appWith(1000);
  const dev = spawnValet(['dev', '--port', String(await freePort()), '--no-typecheck'], app);
  try {
    const [, url, link] = (await dev.waitFor(
      /Valet dev: \d+ functions at (http:\/\/127\.0\.0\.1:\d+)[^\n]*\n\s*Dashboard: (\S+)/,
    ))!;
    const result = valet(['migrate', 'migrations:backfillPriority'], app);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('migrations:backfillPriority: done — 1,000 documents, 1,000 changed');
    const response = await fetch(`${url}/api/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ path: 'todos:all', args: {} }),
    });
    const todos = ((await response.json()) as { value: { priority?: string }[] }).value;
    expect(todos.every((t) => t.priority === 'normal')).toBe(true);

    // The dashboard lists them with their state; a dry run says what one would change.
    expect(existsSync(CHROMIUM), 'Chromium is missing: run scripts/install-browser.sh').toBe(true);
    browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    await page.goto(link!);
    await page.getByRole('link', { name: 'Migrations' }).click();
    const backfill = page.getByTestId('migration').filter({ hasText: 'migrations:backfillPriority' });
    await backfill.getByText('done').waitFor();
    const tags = page.getByTestId('migration').filter({ hasText: 'migrations:tagsToArray' });
    await tags.getByText('pending').waitFor();
    await tags.getByRole('button', { name: 'Dry run' }).click();
    await page.getByTestId('dry-run').filter({ hasText: 'Would change 1,000 of 1,000 documents' }).waitFor();
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: join(SHOTS, 'migrations.png'), fullPage: true });
    await tags.getByRole('button', { name: 'Run', exact: true }).click();
    await tags.getByText('done').waitFor();
  } finally {
    await dev.stop('SIGINT');
  }
});
