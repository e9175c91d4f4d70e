// bench/peers (issue 13): Valet beside Convex on the same generated 100-module app, in one run —
// offline codegen (`valet codegen` vs `convex codegen --system-udfs --typecheck disable`, the
// schema and functions translated one for one) and CLI start (`--help` of each, against a bare
// `node -e 0`). Convex's npm package is installed into bench/.work/peers from the registry npm
// is configured with (pinned: the newest release that still runs on Node 20).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createGeneratedApp, moduleName, ROOT } from './_apps.js';
import { formatRow, machine, measure } from './_measure.js';

const CONVEX_VERSION = '1.40.0';
const MODULES = 100;
const TABLES = 10;
const WORK = join(ROOT, 'bench', '.work', 'peers');
const VALET = join(ROOT, 'bin', 'valet.js');
const verdict = (ok) => (ok ? 'met' : 'MISSED');

function installConvex() {
  const dir = join(WORK, 'convex-package');
  if (existsSync(join(dir, 'node_modules', 'convex', 'package.json'))) return join(dir, 'node_modules');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'peers', private: true }));
  const result = spawnSync(
    'npm',
    ['install', `convex@${CONVEX_VERSION}`, '--no-audit', '--no-fund', '--ignore-scripts'],
    { cwd: dir, encoding: 'utf8' },
  );
  if (result.status !== 0) throw new Error(`could not install convex@${CONVEX_VERSION}:\n${result.stderr}`);
  return join(dir, 'node_modules');
}

/** The generated Valet app (bench/_apps.js), written for Convex: same tables, same functions. */
function createConvexApp(app, modules) {
  rmSync(app, { recursive: true, force: true });
  mkdirSync(join(app, 'convex'), { recursive: true });
  symlinkSync(modules, join(app, 'node_modules'), 'dir');
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({ name: 'bench-convex', private: true, type: 'module', dependencies: { convex: CONVEX_VERSION } }),
  );
  const tables = Array.from(
    { length: TABLES },
    (_, t) =>
      `  t${t}: defineTable({ name: v.string(), count: v.number(), tags: v.array(v.string()), owner: v.optional(v.id('t0')) }).index('by_name', ['name']),`,
  );
  writeFileSync(
    join(app, 'convex', 'schema.ts'),
    `import { defineSchema, defineTable } from 'convex/server';\nimport { v } from 'convex/values';\n\nexport default defineSchema({\n${tables.join('\n')}\n});\n`,
  );
  for (let i = 0; i < MODULES; i++) {
    const table = `t${i % TABLES}`;
    writeFileSync(
      join(app, 'convex', `${moduleName(i)}.ts`),
      `import { action, mutation, query } from './_generated/server';
import { internal } from './_generated/api';
import { v } from 'convex/values';

export const get = query({
  args: { name: v.string() },
  handler: async (ctx, args) => ctx.db.query('${table}').withIndex('by_name', (q) => q.eq('name', args.name)).first(),
});

export const add = mutation({
  args: { name: v.string(), count: v.number() },
  handler: async (ctx, args) => ctx.db.insert('${table}', { name: args.name, count: args.count, tags: [] }),
});

export const sync = action({
  args: { id: v.id('${table}') },
  handler: async (ctx, args) => {
    void internal;
    return { ok: true, id: args.id };
  },
});
`,
    );
  }
  return app;
}

console.log(`bench/peers on ${machine()}\n`);
const modules = installConvex();
const convexBin = join(modules, 'convex', 'bin', 'main.js');
const valetApp = createGeneratedApp(join(WORK, 'valet-app'), MODULES);
const convexApp = createConvexApp(join(WORK, 'convex-app'), modules);
try {
  // Each run regenerates from nothing: the generated folder is removed first.
  const valetCodegen = measure(process.execPath, [VALET, 'codegen'], {
    cwd: valetApp,
    before: () => rmSync(join(valetApp, 'valet', '_generated'), { recursive: true, force: true }),
  });
  const convexCodegen = measure(process.execPath, [convexBin, 'codegen', '--system-udfs', '--typecheck', 'disable'], {
    cwd: convexApp,
    before: () => rmSync(join(convexApp, 'convex', '_generated'), { recursive: true, force: true }),
  });
  const node = measure(process.execPath, ['-e', '0'], { cwd: ROOT, runs: 15 });
  const valetHelp = measure(process.execPath, [VALET, '--help'], { cwd: ROOT, runs: 15 });
  const convexHelp = measure(process.execPath, [convexBin, '--help'], { cwd: convexApp, runs: 15 });

  console.log(
    `Offline codegen of a ${MODULES}-module app (${TABLES} tables; a query, a mutation and an action per module)`,
  );
  console.log(`  ${formatRow(`convex@${CONVEX_VERSION} codegen (baseline)`, convexCodegen)}`);
  console.log(`  ${formatRow('valet codegen', valetCodegen)}`);
  const ratio = valetCodegen.medianMs / convexCodegen.medianMs;
  console.log(`  valet / convex: ${ratio.toFixed(3)}   target ≤ 0.2 — ${verdict(ratio <= 0.2)}`);
  console.log('\nCLI start');
  console.log(`  ${formatRow('node -e 0 (baseline)', node)}`);
  console.log(`  ${formatRow('valet --help', valetHelp)}`);
  console.log(`  ${formatRow(`convex@${CONVEX_VERSION} --help`, convexHelp)}`);
  const above = valetHelp.medianMs - node.medianMs;
  console.log(
    `  valet --help above bare node: ${above.toFixed(0)} ms   target ≤ 25 ms — ${verdict(above <= 25)}; convex --help: ${(convexHelp.medianMs - node.medianMs).toFixed(0)} ms above`,
  );
} finally {
  if (!process.env.BENCH_KEEP) {
    rmSync(join(WORK, 'valet-app'), { recursive: true, force: true });
    rmSync(join(WORK, 'convex-app'), { recursive: true, force: true });
  }
}
