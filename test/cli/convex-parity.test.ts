// The tooling a Convex user expects, with the built CLI: .env files, `valet env ls`, the true next
// run of an interval cron, and functions made by wrappers (in the api by their types).
import Database from 'better-sqlite3';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCheck } from '../../src/check/index.js';
import { servedButUnlisted } from '../../src/check/served-functions.js';
import { analyseApp } from '../../src/codegen/analyse.js';
import { valetTest } from '../../src/testing/index.js';
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

describe('functions made by wrappers, factories and re-exports', () => {
  const wrapped = [
    "import { api, defineAction, defineMutation, defineQuery } from './_generated/valet/api';",
    '',
    'function publicQuery<T>(handler: () => Promise<T>) {',
    "  return defineQuery({ access: 'public', handler });",
    '}',
    'const tickAs = (job: string) =>',
    "  defineMutation({ access: 'system', handler: async (ctx) => ctx.db.insert('ticks', { job, invoker: ctx.invoker }) });",
    '',
    'export const hidden = publicQuery(async () => 1);',
    "export const wrappedTick = tickAs('wrapped');",
    'export const scheduleWrapped = defineMutation({',
    "  access: 'public',",
    '  handler: async (ctx) => ctx.scheduler.runAfter(1000, api.wrapped.wrappedTick, {}),',
    '});',
    "export const viaRunQuery = defineAction({ access: 'public', handler: async (ctx) => ctx.runQuery(api.wrapped.hidden) });",
    '',
  ].join('\n');
  const withWrappers = () => {
    const app = fixtureApp('engine-app', []);
    writeFileSync(join(app, 'valet/wrapped.ts'), wrapped);
    writeFileSync(
      join(app, 'valet/crons.ts'),
      [
        "import { api, cronJobs } from './_generated/valet/api';",
        "export default cronJobs().interval('wrapped-cron', { minutes: 1 }, api.wrapped.wrappedTick);",
        '',
      ].join('\n'),
    );
    expect(valet(['codegen'], app).code).toBe(0);
    return app;
  };

  it('are in the api, so valet check has nothing to report', async () => {
    const app = withWrappers();
    const report = await runCheck(app, { typecheck: false });
    // (The fixture's deliberate mistakes for other rules stay.)
    expect(report.findings.filter((f) => ['served-not-in-api', 'codegen-stale', 'build'].includes(f.rule))).toEqual([]);
  });

  it('are called through api references: from a client, ctx.runQuery, the scheduler and a cron', async () => {
    const t = await valetTest({ appDir: withWrappers() });
    expect(await t.query('wrapped:hidden')).toBe(1);
    expect(await t.action('wrapped:viaRunQuery')).toBe(1);
    await t.mutation('wrapped:scheduleWrapped');
    await t.clock.advance(1000);
    const ticks = async () => (await t.query('jobs:ticks')) as { job: string; invoker: { source?: string } }[];
    expect((await ticks()).map((tick) => [tick.job, tick.invoker.source])).toEqual([['wrapped', 'scheduler']]);
    await t.clock.advance(60_000);
    expect((await ticks()).map((tick) => tick.invoker.source)).toContain('cron');
    await t.close();
  });

  it('run from `valet run`, which finds their kind without codegen knowing it', async () => {
    const app = withWrappers();
    const ran = await valetAsync(['run', 'wrapped:hidden'], app);
    expect(ran.code).toBe(0);
    expect(JSON.parse(ran.stdout)).toBe(1);
    const missing = await valetAsync(['run', 'wrapped:nothing'], app);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no function wrapped:nothing');
  });

  it('a served function whose module the api lacks is reported where it is defined, through its wrapper', async () => {
    const app = withWrappers();
    // The model codegen would have made had it found nothing to export in valet/wrapped.ts.
    const model = analyseApp(app);
    model.modules = model.modules.filter((module) => module.path !== 'wrapped');
    const findings = await servedButUnlisted(app, model);
    expect(findings.map((f) => f.message)).toEqual([
      expect.stringContaining(
        'served but not in the generated api: wrapped:hidden (defined at valet/wrapped.ts:4 through publicQuery)',
      ),
      expect.stringContaining(
        'served but not in the generated api: wrapped:scheduleWrapped (defined at valet/wrapped.ts:11)',
      ),
      expect.stringContaining(
        'served but not in the generated api: wrapped:viaRunQuery (defined at valet/wrapped.ts:15)',
      ),
      expect.stringContaining(
        'served but not in the generated api: wrapped:wrappedTick (defined at valet/wrapped.ts:7 through tickAs)',
      ),
    ]);
    expect(findings[0]).toMatchObject({
      file: 'valet/wrapped.ts',
      line: 4,
      rule: 'served-not-in-api',
      severity: 'error',
    });
  });
});

describe('valet/auth.config.ts in valet check', () => {
  const withConfig = (source: string) => {
    const app = fixtureApp('auth-app', []);
    writeFileSync(join(app, 'valet/auth.config.ts'), source);
    expect(valet(['codegen'], app).code).toBe(0);
    return app;
  };

  it('warns (and passes) when a provider reads an environment variable this machine does not set', async () => {
    delete process.env.VALET_CHECK_UNSET_ISSUER;
    const app = withConfig(
      "export default { providers: [{ domain: process.env.VALET_CHECK_UNSET_ISSUER, applicationID: 'app' }] };\n",
    );
    const report = await runCheck(app, { typecheck: false });
    const finding = report.findings.find((f) => f.file === 'valet/auth.config.ts');
    expect(finding).toMatchObject({ rule: 'auth-config-unset', severity: 'warning' });
    expect(finding?.message).toContain('providers[0].domain is not set');
    expect(report.errorCount).toBe(0);
  });

  it('fails on a provider that is wrong, naming its path', async () => {
    const app = withConfig(
      "export default { providers: [{ domain: 'http://id.example.com', applicationID: 'app' }] };\n",
    );
    const report = await runCheck(app, { typecheck: false });
    expect(report.findings.find((f) => f.file === 'valet/auth.config.ts')).toMatchObject({
      rule: 'build',
      severity: 'error',
      message: expect.stringContaining('providers[0].domain must be an https:// URL'),
    });
  });
});
