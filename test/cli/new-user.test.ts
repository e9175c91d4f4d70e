// The CLI as a new user meets it: closed pipes, commands run outside an app, a second server,
// `valet run` without a server, a cron pointing at a renamed function, the demo's hints.
import Database from 'better-sqlite3';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { demoPortOf } from '../../scripts/demo-args.js';
import {
  fixtureApp,
  linkDependencies,
  REPO_ROOT,
  removeTempDirs,
  run,
  tempDir,
  valet,
  valetAsync,
  VALET_BIN,
} from '../helpers/apps.js';
import { killAll, spawnValet, freePort } from '../helpers/processes.js';

afterAll(() => {
  killAll();
  removeTempDirs();
});

describe('listings on a closed pipe', () => {
  it('`valet invocations ls | head -1` exits quietly, no EPIPE stack', async () => {
    const app = fixtureApp('engine-app', []);
    expect(valet(['dev', '--once', '--no-typecheck'], app).code).toBe(0);
    const db = new Database(join(app, '.valet/valet.db'));
    const insert = db.prepare(
      "INSERT INTO _valet_action_invocations (id, function, principal, invoker, args, args_hash, sensitive, safe_to_retry, status, attempts, started_at) VALUES (?, 'actions:countRun', 'anonymous', '{\"type\":\"anonymous\"}', '{}', 'h', 0, 0, 'succeeded', 1, ?)",
    );
    db.transaction(() => {
      for (let i = 0; i < 5000; i++) insert.run(`inv-${i}`, i);
    })();
    db.close();
    for (const listing of ['invocations ls --limit 5000', 'invocations ls --limit 5000 --json']) {
      const result = await run(
        'bash',
        ['-c', `"${process.execPath}" "${VALET_BIN}" ${listing} | head -1; echo "exit=\${PIPESTATUS[0]}" >&2`],
        app,
      );
      expect(result.stdout.split('\n').filter(Boolean)).toHaveLength(1);
      expect(result.stderr).not.toMatch(/EPIPE|Error|at /);
      expect(result.stderr).toContain('exit=0');
    }
  });
});

describe('finding the app', () => {
  it('stops at the first package.json: outside an app it says where it looked and writes nothing', () => {
    const outer = tempDir();
    mkdirSync(join(outer, 'valet'));
    const project = join(outer, 'tools', 'scripts');
    mkdirSync(join(project, 'src'), { recursive: true });
    writeFileSync(join(project, 'package.json'), '{"name":"scripts"}');
    const result = valet(['token', 'ada'], join(project, 'src'));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`no valet/ folder in ${join(project, 'src')} or its parents up to ${project}`);
    expect(existsSync(join(project, '.valet'))).toBe(false);
    expect(existsSync(join(outer, '.valet'))).toBe(false);
  });

  it('never treats a clone of this repository (or its templates) as an app', () => {
    for (const dir of [
      REPO_ROOT,
      join(REPO_ROOT, 'src'),
      join(REPO_ROOT, 'templates', 'basic'),
      join(REPO_ROOT, 'test', 'fixtures', 'engine-app'),
    ]) {
      const result = valet(['token', 'ada'], dir);
      expect(result.code, dir).toBe(1);
      expect(result.stderr).toContain('no valet/ folder in');
    }
    expect(existsSync(join(REPO_ROOT, 'templates', 'basic', '.valet'))).toBe(false);
  });
});

describe('valet run without a server', () => {
  const app = fixtureApp('engine-app', []);
  expect(valet(['codegen'], app).code).toBe(0);

  it("prints only the result on stdout; the function's console goes to stderr and logs.ndjson", async () => {
    const plain = await valetAsync(['run', 'faults:noisy'], app);
    expect(plain.code, plain.stderr).toBe(0);
    expect(JSON.parse(plain.stdout)).toEqual({ quiet: true });
    expect(plain.stderr).toContain('noisy says hello');
    const json = await valetAsync(['run', 'faults:noisy', '--json'], app);
    expect(JSON.parse(json.stdout)).toEqual({ value: { quiet: true } });
    const logged = readFileSync(join(app, '.valet/logs.ndjson'), 'utf8');
    expect(logged).toContain('"message":"noisy says hello"');
    expect(logged).toContain('"function":"faults:noisy"');
  });

  it("shows the real error message (it is the developer's own terminal)", async () => {
    const result = await valetAsync(['run', 'faults:boom'], app);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('the real reason it broke');
    expect(result.stdout).toBe('');
  });
});

describe('a cron whose target was renamed', () => {
  it('is reported at its line in valet/crons.ts, not inside the package', async () => {
    const parent = tempDir();
    expect(valet(['init', 'shop', '--template', 'basic', '--yes', '--no-install'], parent).code).toBe(0);
    const app = join(parent, 'shop');
    linkDependencies(app);
    const digest = join(app, 'valet/digest.ts');
    writeFileSync(digest, readFileSync(digest, 'utf8').replace('export const sendDaily', 'export const sendEveryDay'));
    const crons = readFileSync(join(app, 'valet/crons.ts'), 'utf8').split('\n');
    const line = crons.findIndex((l) => l.includes('api.digest.sendDaily')) + 1;
    expect(line).toBeGreaterThan(0);
    const server = spawnValet(['start', '--port', String(await freePort())], app);
    expect(await server.exited).toBe(1);
    expect(server.output()).toMatch(new RegExp(`valet/crons\\.ts:${line}\\b`));
    expect(server.output()).toContain('renamed or removed');
    expect(server.output()).not.toMatch(/dist\/server\/cron\.js|\n\s+at /);

    // After codegen the reference itself is gone (undefined at load time): the same place is named.
    expect(valet(['codegen'], app).code).toBe(0);
    const again = spawnValet(['start', '--port', String(await freePort())], app);
    expect(await again.exited).toBe(1);
    expect(again.output()).toMatch(new RegExp(`valet/crons\\.ts:${line}\\b`));
    expect(again.output()).toContain('renamed or removed');
    expect(again.output()).not.toMatch(/dist\/server\/cron\.js|\n\s+at /);
  });
});

describe('npm run demo -- --port N', () => {
  it('prints its hints with that port', () => {
    expect(demoPortOf([])).toBe('3210');
    expect(demoPortOf(['--port', '4123'])).toBe('4123');
    expect(demoPortOf(['-p', '4124', '--no-typecheck'])).toBe('4124');
    expect(demoPortOf(['--port=4125'])).toBe('4125');
    const demo = readFileSync(join(REPO_ROOT, 'scripts/demo.js'), 'utf8');
    expect(demo).not.toContain('127.0.0.1:3210');
  });
});
