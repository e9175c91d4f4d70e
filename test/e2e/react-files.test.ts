// The react template's shared files in headless Chromium, served by `valet dev` and Vite on another
// origin: a signed-in page uploads an image with uploadFile (progress shown), the gallery shows it
// from its file URL (the image really loads), another page's gallery updates live, and a delete
// takes it away. Screenshot in test-artifacts/files/.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, expect, it } from 'vitest';
import { CHROMIUM, launchChromium } from '../helpers/browser.js';
import { linkedTemplateApp, REPO_ROOT, removeTempDirs } from '../helpers/apps.js';
import { freePort, killAll, spawnValet } from '../helpers/processes.js';

const SHOTS = join(REPO_ROOT, 'test-artifacts', 'files');
let browser: Browser | null = null;

afterAll(async () => {
  await browser?.close();
  killAll();
  removeTempDirs();
});

/** A 2×2 PNG (red, green, blue, white). */
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGP4z8DAwMDAxMDAwMDAAAANHQEDasKb6QAAAABJRU5ErkJggg==',
  'base64',
);

it('uploads an image from the react template and shows it, live, in another page too', async () => {
  expect(existsSync(CHROMIUM), 'Chromium is missing: run scripts/install-browser.sh').toBe(true);
  const app = await linkedTemplateApp('react', 'web');
  const valetPort = await freePort();
  const valetUrl = `http://127.0.0.1:${valetPort}`;
  const dev = spawnValet(['dev', '--port', String(valetPort), '--no-typecheck'], app);
  await dev.waitFor(/Valet dev: .*\(ready in/);
  const webPort = await freePort();
  const vite = spawn(
    process.execPath,
    [join(app, 'node_modules/vite/bin/vite.js'), '--port', String(webPort), '--strictPort', '--host', '127.0.0.1'],
    { cwd: app, env: { ...process.env, VITE_VALET_URL: valetUrl }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('vite did not start')), 30_000);
      vite.stdout!.on('data', (chunk) => String(chunk).includes(`${webPort}`) && (clearTimeout(timer), resolve()));
    });
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1000, height: 900 } });
    const page = await context.newPage();
    await page.goto(`http://127.0.0.1:${webPort}/`);
    await page.getByLabel('user id').fill('ada');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('Live').waitFor();
    const watcher = await context.newPage();
    await watcher.goto(`http://127.0.0.1:${webPort}/`);
    await watcher.getByText('Live').waitFor();

    await page.getByLabel('file to share').setInputFiles({ name: 'dot.png', mimeType: 'image/png', buffer: PNG });
    await page.getByTestId('upload-status').filter({ hasText: 'Uploaded dot.png' }).waitFor();
    const image = page.getByRole('img', { name: /^shared file / });
    await image.waitFor();
    // The image really loaded from its file URL (a broken one has no natural size).
    await expect.poll(() => image.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(2);
    expect(await image.getAttribute('src')).toMatch(new RegExp(`^${valetUrl}/api/storage/\\w+\\?sig=`));
    await watcher.getByRole('img', { name: /^shared file / }).waitFor();
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: join(SHOTS, 'react-template.png'), fullPage: true });

    await page.getByTestId('shared-file').getByRole('button', { name: 'Delete' }).click();
    await expect.poll(() => watcher.getByTestId('shared-file').count()).toBe(0);
  } finally {
    vite.kill('SIGTERM');
    await dev.stop();
  }
});
