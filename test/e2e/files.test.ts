// Uploaded files opened in Chromium from their getUrl, on a real `valet dev`, in a browser signed
// in to the dashboard: an HTML page and an SVG with scripts, and HTML disguised as an image or
// as text, can run nothing on the app's origin — the canary file their scripts try to delete
// through the API survives, and the dashboard's API gives them nothing. Screenshots go to
// test-artifacts/files/.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, expect, it } from 'vitest';
import { CHROMIUM, launchChromium } from '../helpers/browser.js';
import { fixtureApp, REPO_ROOT, removeTempDirs, valet } from '../helpers/apps.js';
import { freePort, killAll, spawnValet } from '../helpers/processes.js';

const SHOTS = join(REPO_ROOT, 'test-artifacts', 'files');
let browser: Browser | null = null;

afterAll(async () => {
  await browser?.close();
  killAll();
  removeTempDirs();
});

async function call(url: string, kind: string, path: string, args: unknown = {}): Promise<any> {
  const response = await fetch(`${url}/api/${kind}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ path, args }),
  });
  expect(response.status, path).toBe(200);
  return ((await response.json()) as { value: unknown }).value;
}

async function store(url: string, body: string, type: string): Promise<{ id: string; fileUrl: string }> {
  const uploadUrl = await call(url, 'mutation', 'files:generateUploadUrl');
  const response = await fetch(uploadUrl, { method: 'POST', headers: { 'content-type': type }, body });
  const { storageId } = (await response.json()) as { storageId: string };
  return { id: storageId, fileUrl: await call(url, 'query', 'files:urlOf', { id: storageId }) };
}

it('runs nothing an upload holds on the app’s origin, whatever type it claims', async () => {
  expect(existsSync(CHROMIUM), 'Chromium is missing: run scripts/install-browser.sh').toBe(true);
  const app = fixtureApp('files-app');
  const port = await freePort();
  const dev = spawnValet(['dev', '--port', String(port), '--no-typecheck'], app);
  try {
    const [, url, link] = (await dev.waitFor(
      /Valet dev: \d+ functions at (http:\/\/127\.0\.0\.1:\d+)[^\n]*\n\s*Dashboard: (\S+)/,
    ))!;
    await dev.waitFor(/files in folder \S+files/);
    const canary = await store(url!, 'still here', 'text/plain');
    // What every payload tries: delete the canary through the API, read the dashboard's API, and say so.
    const attack = `
      document.title = 'ran';
      fetch('/api/mutation', { method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ path: 'files:remove', args: { id: '${canary.id}' } }) });
      fetch('/_dashboard/api/admin/functions', { headers: { 'x-valet-dashboard': '1' } })
        .then((r) => r.text()).then((t) => fetch('/api/mutation', { method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ path: 'files:storeText', args: { text: t } }) }));`;
    const payloads = [
      ['text/html', `<html><body><h1>uploaded page</h1><script>${attack}</script></body></html>`],
      ['image/svg+xml', `<svg xmlns="http://www.w3.org/2000/svg"><script>${attack}</script></svg>`],
      ['image/png', `<html><script>${attack}</script></html>`],
      ['text/plain', `<html><script>${attack}</script></html>`],
    ] as const;

    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 900, height: 500 }, acceptDownloads: true });
    const page = await context.newPage();
    page.on('dialog', (dialog) => void dialog.accept());
    await page.goto(link!);
    expect((await context.cookies()).some((cookie) => cookie.name.startsWith('valet_dashboard_'))).toBe(true);
    mkdirSync(SHOTS, { recursive: true });
    const policies: Record<string, string | undefined> = {};
    const titles: Record<string, string> = {};
    for (const [type, body] of payloads) {
      const { fileUrl } = await store(url!, body, type);
      const response = await page.goto(fileUrl).catch((error: Error) => error);
      if (response instanceof Error) {
        // An attachment: Chromium downloads it instead of showing a page.
        expect(response.message, type).toMatch(/Download is starting|ERR_ABORTED/);
      } else {
        policies[type] = response?.headers()['content-security-policy'];
        await page.screenshot({ path: join(SHOTS, `${type.replace('/', '-')}.png`) });
        titles[type] = await page.title();
      }
    }
    // The dashboard's Files page: the files, a preview, an upload, a delete.
    await page.goto(`${url}/_dashboard/#/files`);
    await expect.poll(() => page.getByTestId('file').count()).toBe(1 + payloads.length);
    await page.getByLabel('file to upload').setInputFiles({
      name: 'notes.txt',
      mimeType: 'text/plain',
      buffer: Buffer.from('uploaded from the dashboard'),
    });
    await page.getByRole('button', { name: 'Upload', exact: true }).click();
    await page.getByText(/Stored notes\.txt as \w+/).waitFor();
    await expect.poll(() => page.getByTestId('file').count()).toBe(2 + payloads.length);
    const uploaded = page.getByTestId('file').filter({ hasText: 'text/plain' }).first();
    await uploaded.getByRole('button', { name: 'Preview' }).click();
    const frame = page.frameLocator('iframe[title^="preview of"]');
    await frame.getByText('uploaded from the dashboard').waitFor();
    await page.screenshot({ path: join(SHOTS, 'dashboard-files.png'), fullPage: true });
    await uploaded.getByRole('button', { name: 'Delete' }).click();
    await expect.poll(() => page.getByTestId('file').count()).toBe(1 + payloads.length);

    // Give any script that did run every chance to reach the server.
    await page.goto(`${url}/api/health`);
    const canaryText = await (await fetch(canary.fileUrl)).text();
    expect(canaryText).toBe('still here');
    const files: { _id: string }[] = await call(url!, 'query', 'files:all');
    // The canary and the four payloads: nothing a script stored.
    expect(files).toHaveLength(1 + payloads.length);
    expect(Object.values(titles)).not.toContain('ran');
    // Shown inline (a type a browser only displays), and sandboxed all the same.
    expect(Object.keys(policies).sort()).toEqual(['image/png', 'text/plain']);
    expect(Object.values(policies)).toEqual(['sandbox', 'sandbox']);
  } finally {
    await dev.stop();
  }
});

it('round-trips a 200 MB file through a running server whose memory stays flat', async () => {
  const app = fixtureApp('files-app');
  expect(valet(['codegen'], app).code).toBe(0);
  const port = await freePort();
  const size = 200 * 1024 * 1024;
  const server = spawnValet(['start', '--port', String(port)], app, { VALET_MAX_UPLOAD_BYTES: String(size) });
  try {
    const [, url] = (await server.waitFor(/Valet serving \d+ functions at (http:\/\/127\.0\.0\.1:\d+)/))!;
    const peakRss = () =>
      Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${server.child.pid}/status`, 'utf8'))![1]) / 1024;
    const before = peakRss();
    // The bytes are made as they are sent and hashed as they come back: the test holds none of them.
    const piece = Buffer.alloc(1024 * 1024);
    const sent = createHash('sha256');
    let made = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (made === size) return controller.close();
        piece.fill(made / (1024 * 1024));
        sent.update(piece);
        made += piece.length;
        controller.enqueue(new Uint8Array(piece));
      },
    });
    const uploadUrl = await call(url!, 'mutation', 'files:generateUploadUrl');
    const uploaded = await fetch(uploadUrl, { method: 'POST', body, duplex: 'half' } as RequestInit);
    expect(uploaded.status).toBe(200);
    const { storageId } = (await uploaded.json()) as { storageId: string };
    const file = await fetch(await call(url!, 'query', 'files:urlOf', { id: storageId }));
    expect(file.headers.get('content-length')).toBe(String(size));
    const received = createHash('sha256');
    let length = 0;
    for await (const chunk of file.body as unknown as AsyncIterable<Uint8Array>) {
      received.update(chunk);
      length += chunk.length;
    }
    expect(length).toBe(size);
    const digest = sent.digest('hex');
    expect(received.digest('hex')).toBe(digest);
    expect(file.headers.get('etag')).toBe(`"${digest}"`);
    const peak = peakRss();
    console.log(
      `valet start's peak RSS: ${before.toFixed(0)} MB at start, ${peak.toFixed(0)} MB after a 200 MB file went in and out`,
    );
    // Flat: the server never held the file (it is larger than this bound on its own).
    expect(peak).toBeLessThan(before + 150);
  } finally {
    await server.stop();
  }
});
