// Generated apps for the benchmarks: `size` modules, each one query, one mutation and one
// action over a 10-table schema; `valet` and `typescript` linked from this checkout.
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const TABLES = 10;

function schema() {
  const tables = Array.from(
    { length: TABLES },
    (_, t) =>
      `  t${t}: defineTable({ name: v.string(), count: v.number(), tags: v.array(v.string()), owner: v.optional(v.id('t0')) }).index('by_name', ['name']),`,
  );
  return `import { defineSchema, defineTable, v } from './_generated/valet/api';\n\nexport default defineSchema({\n${tables.join('\n')}\n});\n`;
}

export function moduleSource(i, extra = '') {
  const table = `t${i % TABLES}`;
  return `import { defineAction, defineMutation, defineQuery, v } from './_generated/valet/api';

export const get = defineQuery({
  args: { name: v.string() },
  handler: async (ctx, args) => ctx.db.query('${table}').withIndex('by_name', (q) => q.eq('name', args.name)).first(),
});

export const add = defineMutation({
  args: { name: v.string(), count: v.number() },
  handler: async (ctx, args) => ctx.db.insert('${table}', { name: args.name, count: args.count, tags: [] }),
});

export const sync = defineAction({
  args: { id: v.id('${table}') },
  handler: async (ctx, args) => {
    const doc = await ctx.db.get(args.id);
    await ctx.db.patch(args.id, { count: (doc?.count ?? 0) + 1 });
    return { ok: true };
  },
});
${extra}`;
}

export function moduleName(i) {
  return `m${String(i).padStart(3, '0')}`;
}

export function createGeneratedApp(app, size) {
  rmSync(app, { recursive: true, force: true });
  mkdirSync(join(app, 'valet'), { recursive: true });
  mkdirSync(join(app, 'node_modules'));
  symlinkSync(ROOT, join(app, 'node_modules', 'valet'), 'dir');
  symlinkSync(join(ROOT, 'node_modules', 'typescript'), join(app, 'node_modules', 'typescript'), 'dir');
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: `bench-${size}`, private: true, type: 'module' }));
  writeFileSync(
    join(app, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'ESNext',
        moduleResolution: 'Bundler',
        lib: ['ES2022', 'DOM'],
        strict: true,
        noEmit: true,
        isolatedModules: true,
        skipLibCheck: true,
      },
      include: ['valet'],
    }),
  );
  writeFileSync(join(app, 'valet', 'schema.ts'), schema());
  for (let i = 0; i < size; i++) writeFileSync(join(app, 'valet', `${moduleName(i)}.ts`), moduleSource(i));
  return app;
}

/** A small app for one benchmark: `files` maps paths under valet/ to their source; `valetRoot` is the Valet it links. */
export function createBenchApp(app, name, files, valetRoot = ROOT) {
  rmSync(app, { recursive: true, force: true });
  mkdirSync(join(app, 'valet'), { recursive: true });
  mkdirSync(join(app, 'node_modules'));
  symlinkSync(valetRoot, join(app, 'node_modules', 'valet'), 'dir');
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name, private: true, type: 'module' }));
  for (const [path, source] of Object.entries(files)) writeFileSync(join(app, 'valet', path), source);
  return app;
}
