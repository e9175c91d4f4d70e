// What an operator meets around a server, through the built CLI: storage that cannot be opened
// (a message and exit 1, never a stack), --host on every interface (the real addresses and a
// warning), VALET_FETCH_ALLOW for a sidecar on a private address, several servers of one app on
// different databases, the built server.mjs's flags, and which folder a command takes for the app.
import Database from 'better-sqlite3';
import { mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  linkDependencies,
  REPO_ROOT,
  removeTempDirs,
  run,
  serverRecords,
  tempDir,
  valet,
  valetAsync,
} from '../helpers/apps.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { freePort, killAll, spawnValet } from '../helpers/processes.js';

afterAll(() => {
  killAll();
  removeTempDirs();
});

const STACK = /\n\s+at /;
let app: string;

beforeAll(() => {
  const parent = tempDir();
  expect(valet(['init', 'shop', '--template', 'basic', '--yes', '--no-install'], parent).code).toBe(0);
  app = join(parent, 'shop');
  linkDependencies(app);
});

async function startFails(args: string[], env: NodeJS.ProcessEnv = {}) {
  const server = spawnValet(['start', '--port', String(await freePort()), ...args], app, env);
  const code = await server.exited;
  return { code, output: server.output() };
}

describe('storage that cannot be opened', () => {
  it('.valet is a file: one line saying so, exit 1', async () => {
    const other = join(tempDir(), 'shop');
    expect(valet(['init', 'shop', '--template', 'basic', '--yes', '--no-install'], join(other, '..')).code).toBe(0);
    linkDependencies(other);
    rmSync(join(other, '.valet'), { recursive: true, force: true });
    writeFileSync(join(other, '.valet'), 'not a folder');
    const result = await valetAsync(['run', 'users:list'], other);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/\.valet.*(exists and is not a folder|EEXIST|ENOTDIR)/);
    expect(result.stderr).not.toMatch(STACK);
  });

  it('a corrupt database file: names the file and what to do', async () => {
    const other = join(tempDir(), 'shop');
    expect(valet(['init', 'shop', '--template', 'basic', '--yes', '--no-install'], join(other, '..')).code).toBe(0);
    linkDependencies(other);
    mkdirSync(join(other, '.valet'), { recursive: true });
    writeFileSync(join(other, '.valet/valet.db'), 'garbage, not SQLite at all. '.repeat(200));
    const server = spawnValet(['start', '--port', String(await freePort())], other);
    expect(await server.exited).toBe(1);
    expect(server.output()).toContain('is not a valid SQLite database');
    expect(server.output()).not.toMatch(STACK);
    expect(server.output()).not.toContain('internal error');
  });

  it('a database another process holds locked: says so', async () => {
    expect((await valetAsync(['run', 'users:list'], app)).code).toBe(0);
    const holder = new Database(join(app, '.valet/valet.db'));
    holder.exec('PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE;');
    try {
      const result = await valetAsync(['run', 'users:list'], app);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('is locked by another process');
      expect(result.stderr).not.toMatch(STACK);
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
  });

  it.each([
    ['nothing listening', 'postgres://127.0.0.1:1/valet', /cannot reach PostgreSQL|connection refused|ECONNREFUSED/i],
    ['a role that does not exist', 'postgres://no_such_role_here@127.0.0.1:5432/postgres', /no_such_role_here/],
  ])('PostgreSQL with %s: a message, exit 1', async (_name, url, message) => {
    const result = await startFails(['--database', url]);
    expect(result.code).toBe(1);
    expect(result.output).toMatch(message);
    expect(result.output).not.toMatch(STACK);
  });
});

describe('a signal the moment the ready line is read', () => {
  // The handlers were once installed just after the ready line: a SIGTERM sent as soon as the line
  // arrived killed the process outright about one time in four, skipping the graceful stop.
  it('always stops gracefully (exit 0, "Stopping…"), ten times in a row', async () => {
    for (let i = 0; i < 10; i++) {
      const server = spawnValet(['start', '--port', String(await freePort())], app);
      await server.waitFor(/Valet serving/);
      server.child.kill('SIGTERM');
      const code = await server.exited;
      expect(code, `run ${i}: signal ${server.child.signalCode}`).toBe(0);
      expect(server.output()).toContain('Stopping…');
    }
  });
});

describe('an app without the PostgreSQL driver (pg is an optional peer)', () => {
  const withoutPg = { NODE_OPTIONS: `--import=${join(REPO_ROOT, 'test/helpers/hooks/without-pg.mjs')}` };

  it('serves SQLite as ever', async () => {
    const server = spawnValet(['start', '--port', String(await freePort())], app, withoutPg);
    await server.waitFor(/Valet serving/);
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  });

  it('answers a postgres:// URL with the command that installs the driver, exit 1', async () => {
    const result = await startFails(['--database', 'postgres://127.0.0.1:5432/postgres'], withoutPg);
    expect(result.code).toBe(1);
    expect(result.output).toContain('the database is PostgreSQL, and its driver is not installed: run npm install pg');
    expect(result.output).not.toMatch(STACK);
  });
});

describe('valet start --host 0.0.0.0', () => {
  it('prints the addresses it listens on, and warns that the dev key and the dashboard are open to the network', async () => {
    const server = spawnValet(
      ['start', '--port', String(await freePort()), '--host', '0.0.0.0', '--dev-auth', '--dashboard'],
      app,
    );
    try {
      await server.waitFor(/Valet serving/);
      await server.waitFor(/the dashboard is served on/);
      const output = server.output();
      expect(output).toMatch(/Listening on every interface: .*http:\/\/127\.0\.0\.1:\d+/);
      expect(output).toMatch(
        /--dev-auth: tokens signed with this app's dev key are trusted on every network interface/,
      );
      expect(output).toMatch(/the dashboard is served on every network interface/);
      expect(output).toMatch(/http:\/\/127\.0\.0\.1:\d+/);
    } finally {
      await server.stop('SIGKILL');
    }
  });

  it('stays quiet on loopback', async () => {
    const server = spawnValet(['start', '--port', String(await freePort()), '--dev-auth'], app);
    try {
      await server.waitFor(/Valet serving/);
      expect(server.output()).not.toMatch(/trusted on/);
    } finally {
      await server.stop('SIGKILL');
    }
  });
});

describe('VALET_FETCH_ALLOW', () => {
  it('lets an action reach a sidecar on a private address at the port named, and no other, and says so at start', async () => {
    const sidecar = createServer((_request, response) => response.end('from the sidecar'));
    await new Promise<void>((resolve) => sidecar.listen(0, '127.0.0.1', resolve));
    const sidecarPort = (sidecar.address() as AddressInfo).port;
    const other = createServer((_request, response) => response.end('not allowed'));
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    const otherPort = (other.address() as AddressInfo).port;
    writeFileSync(
      join(app, 'valet/sidecar.ts'),
      `import { defineAction, v } from './_generated/valet/api';
export const get = defineAction({
  args: { url: v.string() },
  access: 'public',
  handler: async (_ctx, args) => {
    try {
      return { ok: true, body: await (await fetch(args.url)).text() };
    } catch (error) {
      return { ok: false, code: (error as { code?: string }).code ?? null };
    }
  },
});
`,
    );
    const server = spawnValet(['start', '--port', String(await freePort())], app, {
      VALET_FETCH_ALLOW: `127.0.0.1:${sidecarPort}`,
    });
    try {
      const url = (await server.waitFor(/Valet serving \d+ functions at (http:\/\/127\.0\.0\.1:\d+)/))[1]!;
      await server.waitFor(
        new RegExp(
          `fetch may reach these private destinations \\(VALET_FETCH_ALLOW\\): 127\\.0\\.0\\.1:${sidecarPort}`,
        ),
      );
      const fetchThrough = async (target: string) =>
        (await (
          await fetch(`${url}/api/action`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ path: 'sidecar:get', args: { url: target } }),
          })
        ).json()) as any;
      expect(await fetchThrough(`http://127.0.0.1:${sidecarPort}/status`)).toEqual({
        value: { ok: true, body: 'from the sidecar' },
      });
      expect(await fetchThrough(`http://127.0.0.1:${otherPort}/`)).toEqual({
        value: { ok: false, code: 'fetch_blocked' },
      });
      expect(await fetchThrough(`http://localhost:${sidecarPort}/`)).toEqual({
        value: { ok: false, code: 'fetch_blocked' },
      });
    } finally {
      await server.stop('SIGKILL');
      sidecar.close();
      other.close();
      rmSync(join(app, 'valet/sidecar.ts'));
    }
  });

  it('refuses a malformed allow-list at start, naming the entry', async () => {
    const result = await startFails([], { VALET_FETCH_ALLOW: '127.0.0.1:notaport' });
    expect(result.code).toBe(1);
    expect(result.output).toContain('VALET_FETCH_ALLOW');
    expect(result.output).toContain('127.0.0.1:notaport');
    expect(result.output).not.toMatch(STACK);
  });
});

describe('several servers of one app, each on its own database', async () => {
  const database = await createTestDatabase();
  afterAll(() => database.drop());

  it('keep a record each; commands reach the server of the database they touch, or refuse beside it', async () => {
    const dev = spawnValet(['dev', '--port', String(await freePort())], app);
    const onPostgres = spawnValet(['start', '--port', String(await freePort()), '--database', database.url], app);
    try {
      await dev.waitFor(/ready|serving/i, 60_000);
      await onPostgres.waitFor(/Valet serving/);
      const records = serverRecords(app);
      expect(records.map((record) => record.pid).sort()).toEqual([dev.child.pid, onPostgres.child.pid].sort());

      // `valet run` on the default database goes through dev; with --database, through start.
      const local = await valetAsync(['run', 'users:list'], app);
      expect(local.code).toBe(0);
      expect(local.stderr).not.toContain('in-process');
      const remote = await valetAsync(['run', 'users:list', '--database', database.url], app);
      expect(remote.code).toBe(0);
      expect(remote.stderr).not.toContain('in-process');

      // Import refuses beside the server of its database, and names it; another database is free.
      const archive = join(tempDir(), 'empty.jsonl');
      writeFileSync(
        archive,
        `${JSON.stringify({ format: 'valet-export', version: 1, exportedAt: new Date().toISOString(), source: 'sqlite', systemTables: false })}\n${JSON.stringify({ end: true, documents: 0, systemRows: 0 })}\n`,
      );
      const refused = await valetAsync(['import', archive, '--database', database.url], app);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/is served by a running Valet server \(http:\/\/127\.0\.0\.1:\d+\)/);
      const elsewhere = await valetAsync(['import', archive, '--database', join(tempDir(), 'other.db')], app);
      expect(elsewhere.code, elsewhere.stderr).toBe(0);

      // One stops: the other's record stays, and still answers.
      expect(await onPostgres.stop('SIGINT')).toBe(0);
      expect(serverRecords(app).map((record) => record.pid)).toEqual([dev.child.pid]);
      expect((await valetAsync(['run', 'users:list'], app)).stderr).not.toContain('in-process');
    } finally {
      await dev.stop('SIGKILL');
      await onPostgres.stop('SIGKILL');
    }
  });
});

describe('the built server.mjs', () => {
  let out: string;
  beforeAll(async () => {
    out = join(tempDir(), 'out');
    const built = await valetAsync(['build', '--out', out], app);
    expect(built.code, built.stderr).toBe(0);
    // What a production install provides, without the CLI's own parser: server.mjs must carry commander itself.
    mkdirSync(join(out, 'node_modules'));
    for (const name of readdirSync(join(REPO_ROOT, 'node_modules'))) {
      if (name !== 'commander' && !name.startsWith('.'))
        symlinkSync(join(REPO_ROOT, 'node_modules', name), join(out, 'node_modules', name), 'dir');
    }
  });

  it('answers --help with its usage and exit 0, without serving', async () => {
    const result = await run(process.execPath, ['server.mjs', '--help'], out);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/--port/);
    expect(result.stdout).not.toMatch(/Valet serving/);
  });

  it('refuses a mistyped flag with exit 2 instead of serving on the default port', async () => {
    const result = await run(process.execPath, ['server.mjs', '--prot', '4000'], out);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--prot');
    expect(result.stdout).not.toMatch(/Valet serving/);
  });
});

describe('which folder is the app', () => {
  it('does not climb to a parent that has a valet/ folder but no package.json', async () => {
    const root = tempDir();
    mkdirSync(join(root, 'valet'));
    mkdirSync(join(root, 'empty'));
    const result = await valetAsync(['codegen'], join(root, 'empty'));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`no valet/ folder in ${join(root, 'empty')}`);
  });

  it('stops at the first package.json on the way up', async () => {
    const inner = join(app, 'packages', 'web');
    mkdirSync(inner, { recursive: true });
    writeFileSync(join(inner, 'package.json'), '{"name":"web"}');
    const result = await valetAsync(['codegen'], inner);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`no valet/ folder in ${inner}`);
    expect(result.stderr).not.toContain('using the app in');
  });

  it('names the app folder it chose when it is not the current one', async () => {
    const sub = join(app, 'src', 'deep');
    mkdirSync(sub, { recursive: true });
    const result = await valetAsync(['codegen'], sub);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain(`valet: using the app in ${app}`);
    const here = await valetAsync(['codegen'], app);
    expect(here.stderr).not.toContain('using the app in');
  });
});
