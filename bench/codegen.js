// bench/codegen (issue 2): `valet codegen` and `valet check` on generated apps of 10, 100 and 500
// modules (each: one query, one mutation, one action over a 10-table schema), against the app's
// bare `tsc --noEmit` measured in the same run; and `valet --help`.
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatRow, machine, measure } from './_measure.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const VALET = join(ROOT, 'bin', 'valet.js');
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const WORK = join(ROOT, 'bench', '.work');
const SIZES = (process.env.BENCH_SIZES ?? '10,100,500').split(',').map(Number);
const TABLES = 10;

function schema() {
  const tables = Array.from({ length: TABLES }, (_, t) =>
    `  t${t}: defineTable({ name: v.string(), count: v.number(), tags: v.array(v.string()), owner: v.optional(v.id('t0')) }).index('by_name', ['name']),`,
  );
  return `import { defineSchema, defineTable, v } from './_generated/valet/api';\n\nexport default defineSchema({\n${tables.join('\n')}\n});\n`;
}

function moduleSource(i) {
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
`;
}

function createApp(size) {
  const app = join(WORK, `app-${size}`);
  rmSync(app, { recursive: true, force: true });
  mkdirSync(join(app, 'valet'), { recursive: true });
  mkdirSync(join(app, 'node_modules'));
  symlinkSync(ROOT, join(app, 'node_modules', 'valet'), 'dir');
  symlinkSync(join(ROOT, 'node_modules', 'typescript'), join(app, 'node_modules', 'typescript'), 'dir');
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: `bench-${size}`, private: true, type: 'module' }));
  writeFileSync(
    join(app, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'ESNext', moduleResolution: 'Bundler', lib: ['ES2022', 'DOM'], strict: true, noEmit: true, isolatedModules: true, skipLibCheck: true },
      include: ['valet'],
    }),
  );
  writeFileSync(join(app, 'valet', 'schema.ts'), schema());
  for (let i = 0; i < size; i++) writeFileSync(join(app, 'valet', `m${String(i).padStart(3, '0')}.ts`), moduleSource(i));
  return app;
}

console.log(`bench/codegen on ${machine()}`);
console.log(`TypeScript for check and baseline: the app's own (linked from this checkout)\n`);
const results = {};
for (const size of SIZES) {
  const app = createApp(size);
  const generated = join(app, 'valet', '_generated');
  const r = {};
  r.codegen = measure(process.execPath, [VALET, 'codegen'], { cwd: app, runs: 9, before: () => rmSync(generated, { recursive: true, force: true }) });
  r.codegenCheck = measure(process.execPath, [VALET, 'codegen', '--check'], { cwd: app, runs: 9 });
  r.check = measure(process.execPath, [VALET, 'check'], { cwd: app, runs: 7 });
  r.tsc = measure(process.execPath, [TSC, '--noEmit', '-p', '.'], { cwd: app, runs: 7 });
  results[size] = r;
  console.log(`${size} modules (${size * 3} functions)`);
  console.log(`  ${formatRow('valet codegen (fresh write)', r.codegen)}`);
  console.log(`  ${formatRow('valet codegen --check', r.codegenCheck)}`);
  console.log(`  ${formatRow('valet check', r.check)}`);
  console.log(`  ${formatRow('baseline: tsc --noEmit', r.tsc)}`);
  console.log(`  check / bare tsc: ${(r.check.medianMs / r.tsc.medianMs).toFixed(2)}×`);
}
const help = measure(process.execPath, [VALET, '--help'], { cwd: ROOT, runs: 15 });
console.log(`\n${formatRow('valet --help', help)}`);

console.log('\nTargets');
const verdict = (ok) => (ok ? 'met' : 'MISSED');
if (results[100]) {
  const c100 = results[100].codegen.medianMs;
  console.log(`  codegen, 100 modules ≤ 350 ms: ${c100.toFixed(0)} ms — ${verdict(c100 <= 350)}`);
  const ratio = results[100].check.medianMs / results[100].tsc.medianMs;
  console.log(`  check within 1.2× of bare tsc, 100 modules: ${ratio.toFixed(2)}× — ${verdict(ratio <= 1.2)}`);
}
if (results[100] && results[500]) {
  const growth = results[500].codegen.medianMs / results[100].codegen.medianMs;
  console.log(`  codegen growth 100 → 500 modules ≤ 3×: ${growth.toFixed(2)}× — ${verdict(growth <= 3)}`);
}
console.log(`  valet --help ≤ 150 ms: ${help.medianMs.toFixed(0)} ms — ${verdict(help.medianMs <= 150)}`);
if (!process.env.BENCH_KEEP) rmSync(WORK, { recursive: true, force: true });
