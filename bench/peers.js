// bench/peers (issue 13): Valet beside Convex on the same generated 100- and 500-module apps, in one run —
// offline codegen (`valet codegen` vs `convex codegen --system-udfs --typecheck disable`, the
// schema and functions translated one for one; Valet both cold, with no .valet/, and with one
// module edited since its last run, its analyses cached in .valet/) and CLI start (`--help` of each, against a bare
// `node -e 0`). Convex's npm package is installed into bench/.work/peers from the registry npm
// is configured with (pinned: the newest release that still runs on Node 20).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { createGeneratedApp, moduleName, ROOT } from './_apps.js';
import { formatRow, loadAverage, machine, measureInterleaved } from './_measure.js';

const CONVEX_VERSION = '1.48.0';
/** App sizes: the goal is at 500 modules, and the growth from 100 to 500. */
const SIZES = [100, 500];
const TABLES = 10;
const WORK = join(ROOT, 'bench', '.work', 'peers');
const VALET = join(ROOT, 'bin', 'valet.js');
const verdict = (ok) => (ok ? 'met' : 'MISSED');

function installConvex() {
  const dir = join(WORK, 'convex-package');
  const installed = join(dir, 'node_modules', 'convex', 'package.json');
  if (existsSync(installed) && JSON.parse(readFileSync(installed, 'utf8')).version === CONVEX_VERSION)
    return join(dir, 'node_modules');
  rmSync(dir, { recursive: true, force: true });
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
function createConvexApp(app, modules, size) {
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
  for (let i = 0; i < size; i++) {
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

console.log(`bench/peers on ${machine()}, load average ${loadAverage()}\n`);
const modules = installConvex();
const convexBin = join(modules, 'convex', 'bin', 'main.js');
try {
  const codegen = {};
  for (const size of SIZES) {
    const valetApp = createGeneratedApp(join(WORK, `valet-app-${size}`), size);
    const convexApp = createConvexApp(join(WORK, `convex-app-${size}`), modules, size);
    // Each run regenerates from nothing (the generated folder is removed first), the two
    // interleaved (A B A B …): load that comes and goes falls on both.
    // Warm: an app that has run before (its .valet/ holds the analyses of the last codegen) with
    // one module edited since, as after a save. Cold: no .valet/ at all (a fresh clone in CI).
    const warmApp = createGeneratedApp(join(WORK, `valet-warm-app-${size}`), size);
    mkdirSync(join(warmApp, '.valet'), { recursive: true });
    let edits = 0;
    const edited = join(warmApp, 'valet', `${moduleName(0)}.ts`);
    const original = readFileSync(edited, 'utf8');
    const [convex, valet, warm] = measureInterleaved([
      {
        command: process.execPath,
        args: [convexBin, 'codegen', '--system-udfs', '--typecheck', 'disable'],
        cwd: convexApp,
        before: () => rmSync(join(convexApp, 'convex', '_generated'), { recursive: true, force: true }),
      },
      {
        command: process.execPath,
        args: [VALET, 'codegen'],
        cwd: valetApp,
        before: () => {
          rmSync(join(valetApp, 'valet', '_generated'), { recursive: true, force: true });
          rmSync(join(valetApp, '.valet'), { recursive: true, force: true });
        },
      },
      {
        command: process.execPath,
        args: [VALET, 'codegen'],
        cwd: warmApp,
        before: () => {
          rmSync(join(warmApp, 'valet', '_generated'), { recursive: true, force: true });
          writeFileSync(edited, `${original}\n// edit ${++edits}\n`);
        },
      },
    ]);
    codegen[size] = { convex, valet, warm };
    console.log(
      `Offline codegen of a ${size}-module app (${TABLES} tables; a query, a mutation and an action per module)`,
    );
    console.log(`  ${formatRow(`convex@${CONVEX_VERSION} codegen (baseline)`, convex)}`);
    console.log(`  ${formatRow('valet codegen, cold (no .valet/)', valet)}`);
    console.log(`  ${formatRow('valet codegen, one module edited', warm)}`);
    console.log(
      `  valet / convex: cold ${(valet.medianMs / convex.medianMs).toFixed(3)}, one module edited ${(warm.medianMs / convex.medianMs).toFixed(3)}\n`,
    );
  }
  const convexApp = join(WORK, `convex-app-${SIZES[0]}`);
  const [node, valetHelp, convexHelp] = measureInterleaved(
    [
      { command: process.execPath, args: ['-e', '0'], cwd: ROOT },
      { command: process.execPath, args: [VALET, '--help'], cwd: ROOT },
      { command: process.execPath, args: [convexBin, '--help'], cwd: convexApp },
    ],
    { runs: 15 },
  );
  console.log('CLI start');
  console.log(`  ${formatRow('node -e 0 (baseline)', node)}`);
  console.log(`  ${formatRow('valet --help', valetHelp)}`);
  console.log(`  ${formatRow(`convex@${CONVEX_VERSION} --help`, convexHelp)}`);
  console.log(
    `\nload average at the end: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );

  console.log('\nTargets');
  const [small, large] = SIZES.map((size) => codegen[size]);
  for (const [label, key] of [
    ['cold', 'valet'],
    ['one module edited', 'warm'],
  ]) {
    const ratio = large[key].medianMs / large.convex.medianMs;
    console.log(
      `  codegen at ${SIZES[1]} modules ≤ 0.2× Convex's (${label}): ${ratio.toFixed(3)}× — ${verdict(ratio <= 0.2)}`,
    );
    const growth = large[key].medianMs / small[key].medianMs;
    console.log(
      `  codegen growth ${SIZES[0]} → ${SIZES[1]} modules ≤ 2× (${label}): ${growth.toFixed(2)}× — ${verdict(growth <= 2)} (Convex: ${(large.convex.medianMs / small.convex.medianMs).toFixed(2)}×)`,
    );
  }
  const above = valetHelp.medianMs - node.medianMs;
  console.log(
    `  valet --help ≤ 25 ms above bare node: ${above.toFixed(0)} ms — ${verdict(above <= 25)} (convex --help: ${(convexHelp.medianMs - node.medianMs).toFixed(0)} ms above)`,
  );
} finally {
  if (!process.env.BENCH_KEEP)
    for (const size of SIZES) {
      rmSync(join(WORK, `valet-app-${size}`), { recursive: true, force: true });
      rmSync(join(WORK, `valet-warm-app-${size}`), { recursive: true, force: true });
      rmSync(join(WORK, `convex-app-${size}`), { recursive: true, force: true });
    }
}
