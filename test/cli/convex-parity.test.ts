// The tooling a Convex user expects, with the built CLI: .env files, `valet env ls`, the true next
// run of an interval cron, and functions the engine serves that codegen could not see.
import Database from 'better-sqlite3';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCheck } from '../../src/check/index.js';
import { fixtureApp, removeTempDirs, valet, valetAsync } from '../helpers/apps.js';
import { freePort, killAll, spawnValet } from '../helpers/processes.js';

afterAll(() => {
  killAll();
  removeTempDirs();
});

describe('.env files', () => {
  const app = fixtureApp('engine-app', []);
  expect(valet(['codegen'], app).code).toBe(0);
  writeFileSync(join(app, '.env'), 'GREETING=from .env\nSHARED=.env\nAPI_KEY=secret-123\n');
  writeFileSync(join(app, '.env.local'), 'SHARED=.env.local\n');
  writeFileSync(join(app, '.env.production'), 'SHARED=.env.production\n');

  it("are read in Vite's order (later files win) and never over the real environment", async () => {
    const read = async (name: string, env: NodeJS.ProcessEnv = {}) =>
      JSON.parse((await valetAsync(['run', 'parity:envValue', JSON.stringify({ name })], app, env)).stdout);
    expect(await read('GREETING')).toBe('from .env');
    expect(await read('SHARED')).toBe('.env.local');
    expect(await read('SHARED', { SHARED: 'from the shell' })).toBe('from the shell');
  });

  it('are what valet start reads in production mode', async () => {
    const port = await freePort();
    const server = spawnValet(['start', '--port', String(port)], app);
    await server.waitFor(/Valet serving/);
    try {
      const response = await fetch(`http://127.0.0.1:${port}/api/query`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ path: 'parity:envValue', args: { name: 'SHARED' } }),
      });
      expect(await response.json()).toEqual({ value: '.env.production' });
    } finally {
      await server.stop();
    }
  });

  it('valet env ls lists what functions see, values hidden unless --show', async () => {
    const hidden = await valetAsync(['env', 'ls'], app);
    expect(hidden.code, hidden.stderr).toBe(0);
    expect(hidden.stdout).toMatch(/API_KEY\s+\(hidden: --show\)\s+\.env\n/);
    expect(hidden.stdout).not.toContain('secret-123');
    const shown = JSON.parse((await valetAsync(['env', 'ls', '--show', '--json'], app)).stdout);
    expect(shown).toEqual(
      expect.arrayContaining([
        { name: 'API_KEY', value: 'secret-123', source: '.env' },
        { name: 'SHARED', value: '.env.local', source: '.env.local' },
      ]),
    );
    const production = JSON.parse(
      (await valetAsync(['env', 'ls', '--mode', 'production', '--show', '--json'], app)).stdout,
    );
    expect(production).toEqual(
      expect.arrayContaining([{ name: 'SHARED', value: '.env.production', source: '.env.production' }]),
    );
  });
});

describe('valet cron ls', () => {
  it("shows an interval job's next run from its last tick, not from now", async () => {
    const app = fixtureApp('engine-app', []);
    expect(valet(['dev', '--once', '--no-typecheck'], app).code).toBe(0);
    const lastTick = Date.now() - 20_000;
    const db = new Database(join(app, '.valet/valet.db'));
    db.prepare('INSERT INTO _valet_cron_state (job, last_tick) VALUES (?, ?)').run('every-minute', lastTick);
    db.close();
    const jobs = JSON.parse((await valetAsync(['cron', 'ls', '--json'], app)).stdout) as {
      name: string;
      nextRun: string;
    }[];
    expect(jobs.find((job) => job.name === 'every-minute')!.nextRun).toBe(new Date(lastTick + 60_000).toISOString());
  });
});

describe('a function defined through a wrapper', () => {
  const wrapped = [
    "import { defineQuery } from './_generated/valet/api';",
    '',
    'function publicQuery<T>(handler: () => Promise<T>) {',
    "  return defineQuery({ access: 'public', handler });",
    '}',
    '',
    'export const hidden = publicQuery(async () => 1);',
    '',
  ].join('\n');

  it('is reported by valet check at its definition, through the wrapper', async () => {
    const app = fixtureApp('engine-app', []);
    writeFileSync(join(app, 'valet/wrapped.ts'), wrapped);
    expect(valet(['codegen'], app).code).toBe(0);
    const report = await runCheck(app, { typecheck: false });
    const finding = report.findings.find((f) => f.rule === 'served-not-in-api');
    expect(finding).toMatchObject({
      file: 'valet/wrapped.ts',
      line: 4,
      severity: 'error',
      message: expect.stringContaining(
        'served but not in the generated api: wrapped:hidden (defined at valet/wrapped.ts:4 through publicQuery)',
      ),
    });
  });

  it('is silenced by // valet-ignore-next-line above its definition (in the wrapper)', async () => {
    const app = fixtureApp('engine-app', []);
    writeFileSync(
      join(app, 'valet/wrapped.ts'),
      wrapped.replace(
        "  return defineQuery({ access: 'public', handler });",
        "  // valet-ignore-next-line served-not-in-api\n  return defineQuery({ access: 'public', handler });",
      ),
    );
    expect(valet(['codegen'], app).code).toBe(0);
    const report = await runCheck(app, { typecheck: false });
    expect(report.findings.filter((f) => f.rule === 'served-not-in-api')).toEqual([]);
  });

  it('is reported by valet dev, which still serves it', async () => {
    const app = fixtureApp('engine-app', []);
    writeFileSync(join(app, 'valet/wrapped.ts'), wrapped);
    const port = await freePort();
    const dev = spawnValet(['dev', '--port', String(port), '--no-typecheck'], app);
    await dev.waitFor(
      /served but not in the generated api: wrapped:hidden \(defined at valet\/wrapped\.ts:4 through publicQuery\)/,
    );
    await dev.waitFor(/Valet dev: \d+ functions at/);
    const response = await fetch(`http://127.0.0.1:${port}/api/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"path":"wrapped:hidden","args":{}}',
    });
    expect(await response.json()).toEqual({ value: 1 });
    await dev.stop();
  });
});
