// The react template in real headless Chromium (Debian's, driven by playwright-core), served by
// `valet dev` and Vite: sign in with a dev token, the list updates live when another client adds a
// user, the action's result shows, and a user added while the server is unreachable appears once
// the page reconnects. Then push: a page that was allowed notifications registers its service
// worker and subscription, and a purchase reaches the (real, loopback) push service encrypted for it.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { WebSocket } from 'ws';
import { CHROMIUM, launchChromium, startVite } from '../helpers/browser.js';
import { afterAll, expect, it } from 'vitest';
import { ValetClient } from '../../src/client/index.js';
import { functionRef } from '../../src/server/index.js';
import { linkedTemplateApp, removeTempDirs, valet, valetAsync } from '../helpers/apps.js';
import { freePort, killAll, spawnValet } from '../helpers/processes.js';
import { startPushReceiver } from '../helpers/push-receiver.js';

let browser: Browser | null = null;

afterAll(async () => {
  await browser?.close();
  killAll();
  removeTempDirs();
});

it('shows live data, action results and offline changes in a real browser', async () => {
  expect(existsSync(CHROMIUM), 'Chromium is missing: run scripts/install-browser.sh').toBe(true);
  const app = await linkedTemplateApp('react', 'web');

  const valetPort = await freePort();
  const valetUrl = `http://127.0.0.1:${valetPort}`;
  // Push goes out for real (dev captures it otherwise), to a push service on loopback.
  const receiver = await startPushReceiver();
  const devEnv = { VALET_PUSH_SEND: '1' };
  let dev = spawnValet(['dev', '--port', String(valetPort), '--no-typecheck'], app, devEnv);
  await dev.waitFor(/Valet dev: .*\(ready in/);

  const vite = await startVite(app, valetUrl);
  const webUrl = vite.url;
  try {
    browser = await launchChromium();
    const page = await browser.newPage();
    await page.goto(`${webUrl}/`);
    await page.getByLabel('user id').fill('ada');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('Live').waitFor();
    await page.getByText('No users yet').waitFor();
    expect(await page.getByTestId('user').textContent()).toBe('ada');

    // Another client adds a user: the page's list updates by itself.
    const other = new ValetClient(valetUrl, {
      WebSocket: WebSocket as never,
      auth: () => valet(['token', 'bob'], app).stdout.trim(),
    });
    await other.mutation(functionRef('users:create', 'mutation', { access: 'authenticated' }), {
      email: 'live@example.com',
    });
    other.close();
    await page.getByText('live@example.com').waitFor({ timeout: 10_000 });

    // The action's result shows.
    await page.getByRole('button', { name: 'Send welcome email' }).first().click();
    await expect.poll(() => page.getByRole('status').textContent(), { timeout: 30_000 }).toBe('Welcome email queued');

    // The server goes away; a user added meanwhile shows at once (optimistic) and syncs on reconnect.
    expect(await dev.stop('SIGINT')).toBe(0);
    await page.getByText('Offline').waitFor({ timeout: 10_000 });
    await page.getByLabel('email').fill('offline@example.com');
    await page.getByRole('button', { name: 'Add user' }).click();
    await page.getByText('offline@example.com').waitFor();
    await page.getByText('1 change waiting to sync').waitFor();
    dev = spawnValet(['dev', '--port', String(valetPort), '--no-typecheck'], app, devEnv);
    await dev.waitFor(/Valet dev: .*\(ready in/);
    await page
      .getByTestId('connection')
      .filter({ hasText: /^Live$/ })
      .waitFor({ timeout: 15_000 });
    const stored = JSON.parse((await valetAsync(['data', 'users', '--json'], app)).stdout) as { email: string }[];
    expect(stored.map((u) => u.email).sort()).toEqual(['live@example.com', 'offline@example.com']);
    expect(await page.getByLabel('users').getByRole('listitem').allTextContents()).toEqual(
      expect.arrayContaining([
        expect.stringContaining('offline@example.com'),
        expect.stringContaining('live@example.com'),
      ]),
    );
    await page.screenshot({ path: join(app, 'page.png') });

    // Push. Headless Chromium cannot reach its vendor's push service from here, so the one call
    // that would (pushManager.subscribe) answers with a subscription on the loopback push service;
    // the rest — permission, public/sw.js, the VAPID key from the server, api.push.register, the
    // purchase's ctx.push.enqueue, web-push's encryption — is the real thing.
    const token = await page.evaluate(() => localStorage.getItem('valet-dev-token'));
    const context = await browser.newContext();
    await context.grantPermissions(['notifications'], { origin: webUrl });
    await context.addInitScript(
      ({ subscription, token }) => {
        localStorage.setItem('valet-dev-token', token);
        localStorage.setItem('valet-dev-user', 'ada');
        let current: PushSubscription | null = null;
        PushManager.prototype.getSubscription = async () => current;
        PushManager.prototype.subscribe = async function (options) {
          current = {
            endpoint: subscription.endpoint,
            options,
            toJSON: () => ({ ...subscription, expirationTime: null }),
            unsubscribe: async () => ((current = null), true),
          } as unknown as PushSubscription;
          return current;
        };
      },
      { subscription: receiver.subscribe(), token: token! },
    );
    const pushPage = await context.newPage();
    await pushPage.goto(`${webUrl}/`);
    await pushPage.getByText('Notifications are on.').waitFor({ timeout: 15_000 });
    expect(
      await pushPage.evaluate(async () => (await navigator.serviceWorker.getRegistration())?.active?.scriptURL),
    ).toMatch(/\/sw\.js$/);
    const subscriptions = JSON.parse((await valetAsync(['push', 'subscriptions', '--json'], app)).stdout) as {
      userId: string;
      endpoint: string;
    }[];
    expect(subscriptions).toEqual([
      expect.objectContaining({ userId: 'ada', endpoint: expect.stringContaining(receiver.url) }),
    ]);
    await pushPage.getByRole('button', { name: 'Buy a desk lamp' }).click();
    await expect
      .poll(() => receiver.received.map((push) => push.payload.title), { timeout: 30_000 })
      .toEqual(['Thanks for your purchase']);
    expect(receiver.received[0]!.payload).toMatchObject({ body: 'Desk lamp, $45.00', url: '/' });
    expect(receiver.rejected).toEqual([]);
    await context.close();
  } finally {
    await receiver.close();
    vite.stop();
    await dev.stop('SIGINT');
  }
});
