// Signing in with an OpenID Connect provider from the react template, in real headless Chromium:
// valet/auth.ts gets an OIDC() provider (a real oidc-provider on loopback, its secret in
// .env.local as a user would put it), the page shows its button, the browser goes to the
// provider's own sign-in and consent pages and comes back signed in; the one-time code is gone
// from the address bar, and a reload stays signed in. Screenshots in test-artifacts/auth-oidc/.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, expect, it } from 'vitest';
import { CHROMIUM, launchChromium, startVite } from '../helpers/browser.js';
import { linkedTemplateApp, REPO_ROOT, removeTempDirs, valet } from '../helpers/apps.js';
import { startOidcProvider } from '../helpers/oidc-provider.js';
import type { RunningOidcProvider } from '../helpers/oidc-provider.js';
import { freePort, killAll, spawnValet } from '../helpers/processes.js';

const SHOTS = join(REPO_ROOT, 'test-artifacts', 'auth-oidc');
let browser: Browser | null = null;
let provider: RunningOidcProvider | null = null;

afterAll(async () => {
  await browser?.close();
  await provider?.close();
  killAll();
  removeTempDirs();
});

it('signs in with an OpenID Connect provider and comes back to the page signed in', async () => {
  expect(existsSync(CHROMIUM), 'Chromium is missing: run scripts/install-browser.sh').toBe(true);
  mkdirSync(SHOTS, { recursive: true });
  const app = await linkedTemplateApp('react', 'web');
  const valetPort = await freePort();
  provider = await startOidcProvider({
    clients: [
      {
        clientId: 'web-app',
        clientSecret: 'a-client-secret-kept-in-env-local',
        redirectUris: [`http://127.0.0.1:${valetPort}/api/auth/callback/acme`],
      },
    ],
    people: { ada: { email: 'ada@example.com', email_verified: true, name: 'Ada Lovelace' } },
  });
  writeFileSync(
    join(app, 'valet/auth.ts'),
    [
      "import { Email, OIDC, Password, valetAuth } from 'valet/auth';",
      '',
      'export const auth = valetAuth({',
      '  providers: [',
      '    Password(),',
      '    Email(),',
      "    OIDC({ id: 'acme', name: 'Acme SSO', issuer: process.env.ACME_ISSUER, clientId: 'web-app', clientSecret: process.env.ACME_SECRET }),",
      '  ],',
      '});',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(app, '.env.local'),
    `ACME_ISSUER=${provider.issuer}\nACME_SECRET=a-client-secret-kept-in-env-local\n`,
  );
  const dev = spawnValet(['dev', '--port', String(valetPort), '--no-typecheck'], app);
  await dev.waitFor(/Valet dev: .*\(ready in/);

  const vite = await startVite(app, `http://127.0.0.1:${valetPort}`);
  const webUrl = vite.url;
  try {
    browser = await launchChromium();
    const page = await browser.newPage();
    await page.goto(`${webUrl}/`);
    await page.getByRole('button', { name: 'Continue with Acme SSO' }).waitFor();
    await page.screenshot({ path: join(SHOTS, '0-sign-in-page.png') });
    await page.getByRole('button', { name: 'Continue with Acme SSO' }).click();

    // The provider's own pages: sign in, then allow the app.
    await page.waitForURL((url) => url.href.startsWith(provider!.issuer));
    await page.locator('input[name="login"]').fill('ada');
    await page.locator('input[name="password"]').fill('anything');
    await page.screenshot({ path: join(SHOTS, '1-provider-sign-in.png') });
    await page.locator('button[type="submit"]').click();
    await page.getByRole('button', { name: 'Continue' }).click();

    // Back on the app's page, signed in; the one-time code is no longer in the address bar.
    await page.getByTestId('user').filter({ hasText: 'ada@example.com' }).waitFor();
    expect(new URL(page.url()).origin).toBe(webUrl);
    expect(new URL(page.url()).searchParams.has('code')).toBe(false);
    await page.screenshot({ path: join(SHOTS, '2-signed-in.png') });

    await page.reload();
    await page.getByTestId('user').filter({ hasText: 'ada@example.com' }).waitFor();
    const sessions = JSON.parse(valet(['auth', 'sessions', '--json'], app).stdout) as {
      provider: string;
      status: string;
    }[];
    expect(sessions).toEqual([expect.objectContaining({ provider: 'acme', status: 'active' })]);
    // The client secret reached no line valet dev printed.
    expect(dev.output()).not.toContain('a-client-secret-kept-in-env-local');
  } finally {
    vite.stop();
    await dev.stop('SIGINT');
  }
});
