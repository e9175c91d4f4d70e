// `valet calls` after `valet start` has stopped: a SQLite app's calls were written by the server's
// writer thread to .valet/valet.calls.db, and the CLI reads them from there (the app's file holds
// none) — including the failed mutation with its error and its line.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { fixtureApp, removeTempDirs, valet } from '../helpers/apps.js';
import { freePort, killAll, spawnValet } from '../helpers/processes.js';

afterAll(() => {
  killAll();
  removeTempDirs();
});

async function callApi(url: string, kind: string, path: string, args: unknown) {
  const response = await fetch(`${url}/api/${kind}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ path, args }),
  });
  return response.status;
}

it('lists and shows the calls a stopped valet start stored in its call log file', async () => {
  const app = fixtureApp('calls-app');
  expect(valet(['codegen'], app).code).toBe(0);
  const server = spawnValet(['start', '--port', String(await freePort())], app);
  const url = (await server.waitFor(/Valet serving \d+ functions at (http:\/\/127\.0\.0\.1:\d+)/))[1]!;
  expect(await callApi(url, 'query', 'todos:list', {})).toBe(200);
  expect(await callApi(url, 'mutation', 'todos:add', { text: ' ' })).toBe(500);
  // A graceful stop writes what is pending.
  expect(await server.stop('SIGTERM')).toBe(0);
  expect(existsSync(join(app, '.valet', 'valet.calls.db'))).toBe(true);

  const listed = valet(['calls', 'ls', '--json'], app);
  expect(listed.code, listed.stderr).toBe(0);
  const calls = JSON.parse(listed.stdout) as { id: string; path: string; outcome: string }[];
  expect(calls.map((c) => `${c.path} ${c.outcome}`)).toEqual(
    expect.arrayContaining(['todos:list ok', 'todos:add error']),
  );
  const failed = calls.find((c) => c.path === 'todos:add')!;
  const shown = valet(['calls', 'show', failed.id], app);
  expect(shown.code, shown.stderr).toBe(0);
  expect(shown.stdout).toContain('text is required');
  expect(shown.stdout).toContain('todos.ts');
});
