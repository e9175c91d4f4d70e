// The built binary, as a user runs it.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fixtureApp, removeTempDirs, tempDir, valet } from '../helpers/apps.js';

afterAll(removeTempDirs);

describe('valet CLI', () => {
  it('prints help with examples, listing only working commands', () => {
    const { code, stdout } = valet(['--help'], tempDir());
    expect(code).toBe(0);
    expect(stdout).toContain('Examples:');
    const commands = stdout
      .split('Commands:')[1]!
      .split('Examples:')[0]!
      .match(/^ {2}(\w+)/gm)!
      .map((c) => c.trim());
    expect(commands).toEqual([
      'init',
      'dev',
      'codegen',
      'check',
      'start',
      'build',
      'run',
      'token',
      'dashboard',
      'invocations',
      'calls',
      'auth',
      'migrate',
      'outbox',
      'push',
      'cron',
      'scheduled',
      'data',
      'export',
      'import',
      'logs',
      'env',
      'mcp',
      'help',
    ]);
  });

  it.each(['init', 'outbox ls', 'cron runs'])('prints `%s --help` with examples from the built binary', (command) => {
    const { code, stdout } = valet([...command.split(' '), '--help'], tempDir());
    expect(code).toBe(0);
    expect(stdout).toMatch(new RegExp(`Usage: valet ${command}`));
    expect(stdout).toContain('Examples:');
  });

  it('runs the common read of a group given alone, with its flags', () => {
    const app = fixtureApp('engine-app', []);
    expect(valet(['dev', '--once'], app).code).toBe(0);
    for (const [group, read] of [
      ['outbox', 'outbox ls'],
      ['invocations', 'invocations ls'],
      ['scheduled', 'scheduled ls'],
      ['push', 'push subscriptions'],
      ['cron', 'cron ls'],
      ['env', 'env ls'],
    ] as const) {
      const alone = valet([group, '--json'], app);
      expect(alone.code, `${group}: ${alone.stderr}`).toBe(0);
      // A cron's next run moves on between the two calls; everything else is the same listing.
      const timeless = (text: string) => text.replace(/"nextRun": "[^"]*"/g, '"nextRun": …');
      expect(timeless(alone.stdout)).toBe(timeless(valet([...read.split(' '), '--json'], app).stdout));
      expect(JSON.parse(alone.stdout)).toBeInstanceOf(Array);
    }
  });

  it('refuses a table name the app does not have, naming its tables; an empty declared table is just empty; bytes print as bytes', () => {
    const app = fixtureApp('engine-app', []);
    expect(valet(['dev', '--once'], app).code).toBe(0);
    const typo = valet(['data', 'user'], app);
    expect(typo.code).toBe(1);
    expect(typo.stderr).toMatch(/no table "user": the tables are accounts, counters, .*users/);
    expect(typo.stderr).not.toMatch(/\n\s+at /);
    const empty = valet(['data', 'receipts', '--json'], app);
    expect(empty.code).toBe(0);
    expect(JSON.parse(empty.stdout)).toEqual([]);
    // Bytes print as valet export writes them, not as {}.
    const stored = valet(['run', 'parity:storeBytes', '{"name": "b", "content": {"$bytes": "AAECAw=="}}'], app);
    expect(stored.code, stored.stderr).toBe(0);
    const files = JSON.parse(valet(['data', 'files', '--json'], app).stdout) as { content: unknown }[];
    expect(files.map((file) => file.content)).toEqual([{ $bytes: 'AAECAw==' }]);
    expect(valet(['data', 'files'], app).stdout).toContain('"content":{"$bytes":"AAECAw=="}');
  });

  it('prints the version', () => {
    const { code, stdout } = valet(['--version'], tempDir());
    expect(code).toBe(0);
    expect(stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('exits 2 on an unknown command, an unknown flag, or no command', () => {
    const unknownCommand = valet(['deploy'], tempDir());
    expect(unknownCommand.code).toBe(2);
    expect(unknownCommand.stderr).toContain("unknown command 'deploy'");
    const unknownFlag = valet(['codegen', '--frobnicate'], tempDir());
    expect(unknownFlag.code).toBe(2);
    expect(unknownFlag.stderr).toContain("unknown option '--frobnicate'");
    expect(valet([], tempDir()).code).toBe(2);
  });

  it('explains where an app is missing, exit 1', () => {
    const { code, stderr } = valet(['codegen'], tempDir());
    expect(code).toBe(1);
    expect(stderr).toContain('no valet/ folder in');
    expect(stderr).toContain('npx valet init my-app');
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  it('finds the app from a subdirectory', () => {
    const app = fixtureApp('codegen-app', []);
    mkdirSync(join(app, 'src', 'deep'), { recursive: true });
    const { code, stderr } = valet(['codegen'], join(app, 'src', 'deep'));
    expect(code).toBe(0);
    expect(stderr).toMatch(/Codegen: 5 functions in 2 modules, wrote api\.ts, dataModel\.ts, react\.ts/);
  });

  it('prints file:line and a code frame for a module it cannot analyse, writing nothing', () => {
    const app = fixtureApp('codegen-app', []);
    writeFileSync(join(app, 'valet/broken.ts'), 'export const x = (;\n');
    const { code, stderr } = valet(['codegen'], app);
    expect(code).toBe(1);
    expect(stderr).toContain('valet/broken.ts:1:19 syntax error');
    expect(stderr).toContain('> 1 | export const x = (;');
    expect(stderr).toContain('codegen failed; nothing was written');
  });

  it('codegen --check exits 1 with one line per stale file, 0 once current', () => {
    const app = fixtureApp('codegen-app', []);
    const stale = valet(['codegen', '--check'], app);
    expect(stale.code).toBe(1);
    expect(stale.stderr.split('\n').filter((l) => l.startsWith('stale '))).toEqual([
      'stale valet/_generated/valet/api.ts: missing; run `valet codegen`',
      'stale valet/_generated/valet/dataModel.ts: missing; run `valet codegen`',
      'stale valet/_generated/valet/react.ts: missing; run `valet codegen`',
    ]);
    expect(valet(['codegen'], app).code).toBe(0);
    expect(valet(['codegen', '--check'], app).code).toBe(0);
  });
});
