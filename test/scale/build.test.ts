// `valet build` on a new basic app, installed the way a server would install it — `npm ci
// --omit=dev` from the registry npm is configured with, in a folder outside the app — then served
// with `node server.mjs` on PostgreSQL: no esbuild, TypeScript, ts-morph or oxc in its
// node_modules, and the app's functions answer.
import { cpSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkedTemplateApp, removeTempDirs, run, tempDir, valetAsync } from '../helpers/apps.js';
import { call, value } from '../helpers/instances.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { freePort, killAll } from '../helpers/processes.js';
import { spawn } from 'node:child_process';

let database: { url: string; drop(): Promise<void> };
let server: string;
let installOutput: string;

beforeAll(async () => {
  database = await createTestDatabase();
  const app = await linkedTemplateApp('basic', 'shop');
  const built = await valetAsync(['build', '--out', join(app, 'out')], app);
  if (built.code !== 0) throw new Error(built.stderr);
  // A different machine, as far as the build knows: a folder of its own, a production install.
  server = join(tempDir('valet-server-'), 'shop-server');
  cpSync(join(app, 'out'), server, { recursive: true });
  const install = await run('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund'], server);
  if (install.code !== 0) throw new Error(`npm ci failed: ${install.stderr}`);
  installOutput = install.stdout + install.stderr;
}, 600_000);

afterAll(async () => {
  killAll();
  await database?.drop();
  removeTempDirs();
});

describe('a valet build folder', () => {
  it('installs only what it runs on', () => {
    const installed = readdirSync(join(server, 'node_modules'));
    expect(installed).toEqual(expect.arrayContaining(['better-sqlite3', 'pg']));
    for (const tool of ['esbuild', 'typescript', 'ts-morph', 'oxc-parser', 'valet', 'commander', 'chokidar'])
      expect(installed).not.toContain(tool);
    expect(existsSync(join(server, 'package-lock.json'))).toBe(true);
  });

  it("declares its install scripts, so npm ci has nothing to warn about (better-sqlite3's is allowed)", () => {
    expect(installOutput).not.toMatch(/allow-scripts|install scripts not yet covered/);
    expect(existsSync(join(server, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node'))).toBe(true);
  });

  it('serves the app with node server.mjs, on PostgreSQL, and drains then stops on SIGTERM', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, ['server.mjs', '--port', String(port)], {
      cwd: server,
      env: { ...process.env, VALET_DATABASE_URL: database.url, VALET_SHUTDOWN_DRAIN_MS: '600000', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stderr.on('data', (chunk) => (output += chunk));
    child.stdout.on('data', (chunk) => (output += chunk));
    const url = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 400 && !/Valet serving/.test(output); i++) {
      if (child.exitCode !== null) throw new Error(`server.mjs exited: ${output}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect(output).toContain('(database postgres://');
    expect((await fetch(`${url}/api/ready`)).status).toBe(200);
    expect(await value(url, 'query', 'users:list')).toEqual([]);
    // Signed-in calls need VALET_AUTH_*: without it, the documented refusal.
    expect(await call(url, 'mutation', 'users:create', { email: 'a@example.com' })).toMatchObject({
      status: 401,
      body: { code: 'auth_not_configured' },
    });
    // SIGTERM drains first: /api/ready says 503 shutting_down while calls are still served (the
    // drain is long here; a second SIGTERM ends it, as an impatient operator would).
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await expect.poll(async () => (await fetch(`${url}/api/ready`)).status, { timeout: 30_000 }).toBe(503);
    expect(await (await fetch(`${url}/api/ready`)).json()).toMatchObject({ ready: false, code: 'shutting_down' });
    expect((await fetch(`${url}/api/health`)).status).toBe(200);
    expect(await value(url, 'query', 'users:list')).toEqual([]);
    expect(output).toContain('draining: /api/ready answers 503 for 600000 ms');
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
