// What a new user does, with the real built binary: init (linked to this checkout, its
// dependencies linked too) → codegen → check → the app's own tests,
// then the mistakes `valet check` and `valet codegen --check` exist to catch.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkedTemplateApp, removeTempDirs, run } from '../helpers/apps.js';

afterAll(removeTempDirs);

describe('a new basic app', () => {
  let app: string;
  const appValet = (args: string[]) =>
    run(process.execPath, [join(app, 'node_modules/valet/bin/valet.js'), ...args], app);
  const edit = (file: string, change: (text: string) => string) =>
    writeFileSync(join(app, file), change(readFileSync(join(app, file), 'utf8')));

  beforeAll(async () => {
    app = await linkedTemplateApp('basic', 'my-app');
  });

  it('passes its own example tests (valet/testing)', async () => {
    const tests = await run(process.execPath, [join(app, 'node_modules/vitest/vitest.mjs'), 'run'], app);
    expect(tests.code, tests.stdout + tests.stderr).toBe(0);
    expect(tests.stdout).toMatch(/4 passed/);
  });

  it('is current after init and passes valet check', async () => {
    const codegen = await appValet(['codegen']);
    expect(codegen.code, codegen.stderr).toBe(0);
    expect(codegen.stderr).toMatch(/Codegen: 14 functions in 5 modules, up to date/);
    const check = await appValet(['check']);
    expect(check.stderr).toMatch(
      /0 errors, 0 warnings \(checked codegen, typescript, rules, TypeScript 7\.\d+\.\d+ in \d+ ms\)/,
    );
    expect(check.code).toBe(0);
  });

  it('takes a plain JavaScript module in valet/ (the template allows .js): generated, checked, served', async () => {
    writeFileSync(
      join(app, 'valet/legacy.js'),
      "import { defineQuery } from './_generated/valet/api';\n\nexport const hello = defineQuery({ access: 'public', handler: async () => 'from js' });\n",
    );
    const codegen = await appValet(['codegen']);
    expect(codegen.stderr).toMatch(/Codegen: 15 functions in 6 modules/);
    const check = await appValet(['check']);
    expect(check.code, check.stderr + check.stdout).toBe(0);
    const ran = await appValet(['run', 'legacy:hello']);
    expect(ran.code, ran.stderr).toBe(0);
    expect(ran.stdout).toContain('from js');
    rmSync(join(app, 'valet/legacy.js'));
    expect((await appValet(['codegen'])).code).toBe(0);
  });

  it('fails valet check naming each rule violation and a type error', async () => {
    edit('valet/users.ts', (text) =>
      text
        .replace(
          "return await ctx.db.query('users').order('desc').take(50);",
          "await fetch('https://example.com');\n    return await ctx.db.query('users').order('desc').take(50);",
        )
        .replace(
          'await ctx.db.patch(args.userId, { name: args.name });',
          'await ctx.db.patch(args.userId, { name: 42 });',
        ),
    );
    writeFileSync(
      join(app, 'valet/payments.ts'),
      [
        "import { defineAction, v } from './_generated/valet/api';",
        '',
        'export const charge = defineAction({',
        "  args: { userId: v.id('users') },",
        '  safeToRetry: true,',
        '  handler: async (ctx, args) => {',
        '    await ctx.db.transaction(async (tx) => {',
        "      await fetch('https://payments.example.com/charge');",
        "      await tx.patch(args.userId, { name: 'paid' });",
        '    });',
        "    await ctx.db.insert('users', { email: 'receipt@example.com' });",
        "    await ctx.db.patch(args.userId, { bio: 'customer' });",
        "    await ctx.email.enqueue({ to: 'a@example.com', subject: 'Paid', text: 'Thanks' });",
        '  },',
        '});',
        '',
      ].join('\n'),
    );
    await appValet(['codegen']);
    const check = await appValet(['check', '--json']);
    expect(check.code).toBe(1);
    const report = JSON.parse(check.stdout);
    const seen = report.findings.map(
      (f: { file: string; line: number; rule: string }) => `${f.file}:${f.line} ${f.rule}`,
    );
    expect(seen).toEqual([
      'valet/payments.ts:8 fetch-in-transaction',
      'valet/payments.ts:11 insert-in-retryable-action',
      'valet/payments.ts:12 writes-outside-transaction',
      'valet/payments.ts:13 enqueue-without-delivery-key',
      'valet/users.ts:8 fetch-in-query-or-mutation',
      'valet/users.ts:46 typescript(TS2322)',
    ]);
    const human = await appValet(['check']);
    expect(human.code).toBe(1);
    expect(human.stderr).toContain('valet/payments.ts:8:13 error fetch-in-transaction');
    expect(human.stderr).toContain('fix: call fetch first, then open ctx.db.transaction(...)');
    expect(human.stderr).toContain('valet check failed: 6 errors');
  });

  it('answers valet check the same from its .valet/ cache, and reads an edited module afresh', async () => {
    // What `valet dev` leaves behind: the state folder, where check keeps what it read of each module.
    mkdirSync(join(app, '.valet'), { recursive: true });
    const rules = async () =>
      JSON.parse((await appValet(['check', '--json', '--no-typecheck'])).stdout).findings.map(
        (f: { file: string; line: number; rule: string }) => `${f.file}:${f.line} ${f.rule}`,
      );
    const first = await rules();
    const cache = JSON.parse(readFileSync(join(app, '.valet/codegen-cache.json'), 'utf8'));
    expect(Object.keys(cache.modules)).toEqual(expect.arrayContaining(['valet/payments.ts', 'valet/users.ts']));
    expect(await rules()).toEqual(first);
    expect(first).toContain('valet/payments.ts:11 insert-in-retryable-action');
    edit('valet/payments.ts', (text) =>
      text.replace("    await ctx.db.insert('users', { email: 'receipt@example.com' });\n", ''),
    );
    expect(await rules()).not.toContain('valet/payments.ts:11 insert-in-retryable-action');
  });

  it('fails codegen --check and valet check when generated files are stale', async () => {
    writeFileSync(
      join(app, 'valet/extra.ts'),
      "import { defineQuery } from './_generated/valet/api';\nexport const ping = defineQuery({ access: 'public', handler: async () => 'pong' });\n",
    );
    const stale = await appValet(['codegen', '--check']);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toMatch(
      /^stale valet\/_generated\/valet\/api\.ts: out of date \(first difference at line \d+\); run `valet codegen`$/m,
    );
    const check = await appValet(['check', '--json']);
    expect(JSON.parse(check.stdout).findings.map((f: { rule: string }) => f.rule)).toContain('codegen-stale');
    expect((await appValet(['codegen'])).code).toBe(0);
    expect((await appValet(['codegen', '--check'])).code).toBe(0);
  });
});
