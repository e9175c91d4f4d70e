// valet/react-query in a real browser: a page built on TanStack Query (Vite, React, Chromium)
// reads a Valet query through useQuery(valetQuery(…)); the entry stays live (a write made by
// someone else appears without a refetch) and a mutation through valetMutation goes through the
// client's queue and shows up in the same list.
import { spawn } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, expect, it } from 'vitest';
import { linkedTemplateApp, REPO_ROOT, removeTempDirs, valetAsync } from '../helpers/apps.js';
import { launchChromium } from '../helpers/browser.js';
import { freePort, killAll, spawnValet } from '../helpers/processes.js';

let browser: Browser | null = null;
afterAll(async () => {
  await browser?.close();
  killAll();
  removeTempDirs();
});

const PAGE = `import { QueryClient, QueryClientProvider, useMutation, useQuery } from '@tanstack/react-query';
import { createRoot } from 'react-dom/client';
import { ValetQueryClient, valetMutation, valetQuery } from 'valet/react-query';
import { api } from '../valet/_generated/valet/api';
import { ValetClient } from '../valet/_generated/valet/react';

const token = new URLSearchParams(location.search).get('token');
const client = new ValetClient(import.meta.env.VITE_VALET_URL, { auth: () => token });
const queryClient = new QueryClient();
new ValetQueryClient(client).connect(queryClient);

function Users() {
  // No args: users:list takes none.
  const users = useQuery(valetQuery(api.users.list));
  const create = useMutation(valetMutation(client, api.users.create));
  return (
    <main>
      <p data-testid="status">{users.status}</p>
      <ul aria-label="users">{users.data?.map((user) => <li key={user._id}>{user.email}</li>)}</ul>
      <button type="button" onClick={() => create.mutate({ email: 'from-the-page@example.com' })}>Add</button>
      <p data-testid="created">{create.isSuccess ? 'created' : ''}</p>
    </main>
  );
}

createRoot(document.getElementById('root')!).render(
  <QueryClientProvider client={queryClient}>
    <Users />
  </QueryClientProvider>,
);
`;

it('keeps a TanStack Query cache entry live and sends mutations through the queue', async () => {
  const app = await linkedTemplateApp('react', 'tanstack');
  for (const name of ['@tanstack/react-query', '@tanstack/query-core']) {
    mkdirSync(join(app, 'node_modules/@tanstack'), { recursive: true });
    symlinkSync(join(REPO_ROOT, 'node_modules', name), join(app, 'node_modules', name), 'dir');
  }
  writeFileSync(join(app, 'src/main.tsx'), PAGE);

  const valetPort = await freePort();
  const valetUrl = `http://127.0.0.1:${valetPort}`;
  const dev = spawnValet(['dev', '--port', String(valetPort), '--no-typecheck'], app);
  await dev.waitFor(/Valet dev: .*\(ready in/);
  // The page type-checks against the generated API and valet/react-query's types.
  const check = await valetAsync(['check'], app);
  expect(check.code, check.stdout + check.stderr).toBe(0);

  const webPort = await freePort();
  const vite = spawn(
    process.execPath,
    [join(app, 'node_modules/vite/bin/vite.js'), '--port', String(webPort), '--strictPort', '--host', '127.0.0.1'],
    { cwd: app, env: { ...process.env, VITE_VALET_URL: valetUrl }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('vite did not start')), 60_000);
      vite.stdout!.on('data', (chunk) => String(chunk).includes(`${webPort}`) && (clearTimeout(timer), resolve()));
    });
    const token = (await valetAsync(['token', 'ada'], app)).stdout.trim();
    browser = await launchChromium();
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${webPort}/?token=${token}`);
    await page.getByTestId('status').filter({ hasText: 'success' }).waitFor();
    const emails = () => page.getByRole('list', { name: 'users' }).locator('li').allTextContents();
    expect(await emails()).toEqual([]);

    // Someone else writes: the cache entry is updated by the live subscription, not a refetch.
    const created = await fetch(`${valetUrl}/api/mutation`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ path: 'users:create', args: { email: 'from-the-api@example.com' } }),
    });
    expect(created.status).toBe(200);
    await page.getByRole('listitem').filter({ hasText: 'from-the-api@example.com' }).waitFor();

    // The page's own mutation, through valetMutation (the client's queue).
    await page.getByRole('button', { name: 'Add' }).click();
    await page.getByTestId('created').filter({ hasText: 'created' }).waitFor();
    await page.getByRole('listitem').filter({ hasText: 'from-the-page@example.com' }).waitFor();
    expect((await emails()).sort()).toEqual(['from-the-api@example.com', 'from-the-page@example.com']);
    mkdirSync(join(REPO_ROOT, 'test-artifacts'), { recursive: true });
    await page.screenshot({ path: join(REPO_ROOT, 'test-artifacts', 'react-query.png') });
  } finally {
    vite.kill('SIGKILL');
  }
});
