// The one way the browser tests start Chromium: Debian's build (scripts/install-browser.sh), headless,
// quiet (no first-run, sync, update or background traffic), with generous deadlines for actions,
// since a loaded machine renders slowly and a test waits for what a page shows, never for a time.
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import type { Browser } from 'playwright-core';

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
