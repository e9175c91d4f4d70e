// Search through the built CLI: a search index added to a table that already holds documents is
// built when `valet dev` starts and named in its ready line; the dashboard's Data page searches it
// in Chromium (screenshot in test-artifacts/search/); `valet export` then `valet import` into
// another database makes the index again from the documents (archives do not carry it).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, expect, it } from 'vitest';
import { CHROMIUM, launchChromium } from '../helpers/browser.js';
import { fixtureApp, REPO_ROOT, removeTempDirs, valet } from '../helpers/apps.js';
import { freePort, killAll, spawnValet } from '../helpers/processes.js';

const SHOTS = join(REPO_ROOT, 'test-artifacts', 'search');
let browser: Browser | null = null;

afterAll(async () => {
  await browser?.close();
  killAll();
  removeTempDirs();
});

const READY = /Valet dev: \d+ functions at (http:\/\/127\.0\.0\.1:\d+)[^\n]*\n\s*Dashboard: (\S+)/;

async function mutation(url: string, path: string, args: unknown): Promise<unknown> {
  const response = await fetch(`${url}/api/mutation`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ path, args }),
  });
  expect(response.status, await response.clone().text()).toBe(200);
  return ((await response.json()) as { value: unknown }).value;
}

async function query(url: string, path: string, args: unknown): Promise<any> {
  const response = await fetch(`${url}/api/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ path, args }),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { value: unknown }).value;
}

it('builds a new search index from stored documents, searches it in the dashboard, and survives export and import', async () => {
  expect(existsSync(CHROMIUM), 'Chromium is missing: run scripts/install-browser.sh').toBe(true);
  const app = fixtureApp('search-app');
  const schemaFile = join(app, 'valet', 'schema.ts');
  const schema = readFileSync(schemaFile, 'utf8');
  writeFileSync(
    schemaFile,
    schema.replace(".searchIndex('search_body', { searchField: 'body', filterFields: ['channel', 'author'] })", ''),
  );
  const port = await freePort();
  let dev = spawnValet(['dev', '--port', String(port), '--no-typecheck'], app);
  try {
    const [, url] = (await dev.waitFor(READY))!;
    const messages = [
      { body: 'The harbour opens at dawn', channel: 'news' },
      { body: 'Fresh crème brûlée at the café', channel: 'food' },
      { body: 'Harbour lights and late boats', channel: 'news' },
      ...Array.from({ length: 300 }, (_, i) => ({ body: `filler message ${i}`, channel: 'noise' })),
    ];
    await mutation(url!, 'messages:sendMany', { messages });
    expect(await dev.stop()).toBe(0);

    writeFileSync(schemaFile, schema);
    dev = spawnValet(['dev', '--port', String(port), '--no-typecheck'], app);
    const [, again, link] = (await dev.waitFor(READY))!;
    await dev.waitFor(/search index built: messages\.search_body \(303 documents\)/);
    expect(dev.output()).toMatch(/built search index messages\.search_body over 303 documents/);
    expect(
      (await query(again!, 'messages:search', { text: 'harb' })).map((m: { body: string }) => m.body).sort(),
    ).toEqual(['Harbour lights and late boats', 'The harbour opens at dawn']);

    browser = await launchChromium();
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    await page.goto(link!);
    await page.goto(`${again}/_dashboard/#/data/messages`);
    await page
      .getByTestId('search-indexes')
      .filter({ hasText: 'search index built: messages.search_body (303 documents)' })
      .waitFor();
    const search = page.getByLabel('search', { exact: true });
    await search.waitFor();
    expect(await search.getAttribute('placeholder')).toBe('search body (search_body)');
    await search.fill('creme brulee');
    await expect.poll(() => page.getByTestId('document-row').count()).toBe(1);
    await page.getByTestId('document-row').filter({ hasText: 'Fresh crème brûlée at the café' }).waitFor();
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: join(SHOTS, 'data-search.png'), fullPage: true });
    await search.fill('harbour');
    await expect.poll(() => page.getByTestId('document-row').count()).toBe(2);
    await search.fill('');
    await expect.poll(() => page.getByTestId('document-row').count()).toBe(25);
    // Removed and added back while valet dev runs: the reload builds it and says so.
    writeFileSync(
      schemaFile,
      schema.replace(".searchIndex('search_body', { searchField: 'body', filterFields: ['channel', 'author'] })", ''),
    );
    await dev.waitFor(/↻ [^\n]*schema\.ts[^\n]*\n(?![^\n]*search index built)/);
    writeFileSync(schemaFile, schema);
    await dev.waitFor(/↻ [^\n]*schema\.ts[^\n]*\n\s*search index built: messages\.search_body \(303 documents\)/);
    await search.fill('harbour');
    await expect.poll(() => page.getByTestId('document-row').count()).toBe(2);
    expect(await dev.stop()).toBe(0);

    const archive = join(app, 'messages.jsonl');
    expect(valet(['export', '--out', archive], app).code).toBe(0);
    expect(readFileSync(archive, 'utf8')).not.toContain('valet_search__');
    const other = join(app, '.valet', 'copy.db');
    const imported = valet(['import', archive, '--database', other], app);
    expect(imported.stderr + imported.stdout).toMatch(/imported 303 documents/);
    dev = spawnValet(['dev', '--port', String(port), '--no-typecheck', '--database', other], app);
    const [, copy] = (await dev.waitFor(READY))!;
    expect(
      (await query(copy!, 'messages:search', { text: 'late boats' })).map((m: { body: string }) => m.body),
    ).toEqual(['Harbour lights and late boats']);
  } finally {
    await dev.stop();
  }
});
