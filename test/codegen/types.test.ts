// The generated API is typed by inference from the modules: the typed-app fixture holds
// compile-time assertions (exact types, and @ts-expect-error where a mistake must not compile).
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCodegen } from '../../src/codegen/index.js';
import { findTypeScript, typecheckApp } from '../../src/check/typecheck.js';
import { fixtureApp, removeTempDirs, run } from '../helpers/apps.js';

afterAll(removeTempDirs);

describe('generated types', () => {
  it('type-check the typed-app fixture, assertions included', async () => {
    const app = fixtureApp('typed-app');
    runCodegen(app);
    const tsc = findTypeScript(app);
    const result = await run(process.execPath, [tsc!.tscPath, '--noEmit', '--pretty', 'false', '-p', '.'], app);
    expect(result.stdout + result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  it('type an app without a schema as Convex does: any table, documents any, ids per table', async () => {
    const app = fixtureApp('typed-app');
    rmSync(join(app, 'valet/schema.ts'));
    rmSync(join(app, 'typetests'), { recursive: true });
    for (const module of ['orders.ts', 'pages.ts', 'sessions.ts']) rmSync(join(app, 'valet', module));
    writeFileSync(
      join(app, 'valet/notes.ts'),
      [
        "import { defineMutation, defineQuery, v, type Doc, type Id } from './_generated/valet/api';",
        '',
        "function owner(userId: Id<'users'>): Id<'users'> {",
        '  return userId;',
        '}',
        'export const create = defineMutation({',
        '  args: { text: v.string() },',
        '  handler: async (ctx, args) => {',
        "    const userId = await ctx.db.insert('users', { name: 'ada' });",
        "    const user: Doc<'users'> | null = await ctx.db.get(userId);",
        "    return ctx.db.insert('notes', { text: args.text, owner: owner(user!._id), at: user!._creationTime });",
        '  },',
        '});',
        "export const all = defineQuery({ handler: async (ctx) => (await ctx.db.query('notes').collect()).map((n) => n.text) });",
        '',
      ].join('\n'),
    );
    runCodegen(app);
    const { findings } = await typecheckApp(app);
    expect(findings).toEqual([]);
  });

  it('catch a handler that misuses a document, naming file and line', async () => {
    const app = fixtureApp('typed-app');
    const orders = join(app, 'valet/orders.ts');
    writeFileSync(
      orders,
      readFileSync(orders, 'utf8').replace(
        "await tx.patch(order._id, { status: 'paid' });",
        "await tx.patch(order._id, { status: 'refunded' });",
      ),
    );
    runCodegen(app);
    const { findings } = await typecheckApp(app);
    expect(findings).toEqual([
      expect.objectContaining({ file: 'valet/orders.ts', line: 34, rule: 'typescript(TS2322)', severity: 'error' }),
    ]);
  });
});
