// The one way the browser tests start Chromium: Debian's build (scripts/install-browser.sh), headless,
// quiet (no first-run, sync, update or background traffic), with generous deadlines for actions,
// since a loaded machine renders slowly and a test waits for what a page shows, never for a time.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser } from 'playwright-core';
import { freePort } from './processes.js';

export const CHROMIUM = '/usr/bin/chromium';

/** How long a page action or wait may take before the test calls it missing. */
const PAGE_DEADLINE_MS = 60_000;

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error('Chromium is missing: run scripts/install-browser.sh');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  // Every context this browser opens (browser.newPage() makes one too) gets the deadlines.
  const newContext = browser.newContext.bind(browser);
  browser.newContext = async (options) => {
    const context = await newContext(options);
    context.setDefaultTimeout(PAGE_DEADLINE_MS);
    context.setDefaultNavigationTimeout(PAGE_DEADLINE_MS);
    return context;
  };
  return browser;
}

export interface RunningVite {
  /** The page's origin (`http://127.0.0.1:<port>`). */
  url: string;
  stop(): void;
}

/**
 * The app's own Vite dev server on a free port, its page talking to the Valet server at
 * `valetUrl` (VITE_VALET_URL, as the templates read it); resolves once Vite says it listens.
 */
export async function startVite(app: string, valetUrl: string): Promise<RunningVite> {
  const port = await freePort();
  const vite = spawn(
    process.execPath,
    [join(app, 'node_modules/vite/bin/vite.js'), '--port', String(port), '--strictPort', '--host', '127.0.0.1'],
    { cwd: app, env: { ...process.env, VITE_VALET_URL: valetUrl }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const stop = () => vite.kill('SIGKILL');
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('vite did not start')), 30_000);
      vite.stdout!.on('data', (chunk) => String(chunk).includes(`${port}`) && (clearTimeout(timer), resolve()));
    });
  } catch (error) {
    stop();
    throw error;
  }
  return { url: `http://127.0.0.1:${port}`, stop };
}
