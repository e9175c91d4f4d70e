// bench/codegen (issue 2): `valet codegen` and `valet check` on generated apps of 10, 100 and 500
// modules (each: one query, one mutation, one action over a 10-table schema), against the app's
// bare `tsc --noEmit` measured in the same run (interleaved); check both cold (no .valet/) and with
// one module edited since its last run (what it read of the others kept in .valet/); and
// `valet --help` beside `node -e 0`.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { createGeneratedApp, moduleName, ROOT } from './_apps.js';
import { formatRow, loadAverage, machine, measure, measureInterleaved, runOnce, summarise } from './_measure.js';

const VALET = join(ROOT, 'bin', 'valet.js');
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const WORK = join(ROOT, 'bench', '.work');
const SIZES = (process.env.BENCH_SIZES ?? '10,100,500').split(',').map(Number);
console.log(`bench/codegen on ${machine()}, load average ${loadAverage()}`);
console.log(`TypeScript for check and baseline: the app's own (linked from this checkout)\n`);
const results = {};
for (const size of SIZES) {
  const app = createGeneratedApp(join(WORK, `app-${size}`), size);
  const generated = join(app, 'valet', '_generated');
  const r = {};
  r.codegen = measure(process.execPath, [VALET, 'codegen'], {
    cwd: app,
    runs: 9,
    before: () => rmSync(generated, { recursive: true, force: true }),
  });
  r.codegenCheck = measure(process.execPath, [VALET, 'codegen', '--check'], { cwd: app, runs: 9 });
  // The same app as it is after a run of valet dev (a .valet/ holding what codegen and the rules
  // read of each module) with one module edited before each check, as after a save.
  const warmApp = createGeneratedApp(join(WORK, `app-${size}-warm`), size);
  mkdirSync(join(warmApp, '.valet'), { recursive: true });
  runOnce(process.execPath, [VALET, 'codegen'], { cwd: warmApp });
  const edited = join(warmApp, 'valet', `${moduleName(0)}.ts`);
  const original = readFileSync(edited, 'utf8');
  // check (cold and after an edit) and its baseline interleaved (A B C A B C …), so load that
  // comes and goes falls on all three.
  const checkRuns = [];
  const warmRuns = [];
  const tscRuns = [];
  for (let i = 0; i < 8; i++) {
    const check = runOnce(process.execPath, [VALET, 'check'], { cwd: app });
    writeFileSync(edited, `${original}\n// edit ${i}\n`);
    const warm = runOnce(process.execPath, [VALET, 'check'], { cwd: warmApp });
    const tsc = runOnce(process.execPath, [TSC, '--noEmit', '-p', '.'], { cwd: app });
    // The first round warms the file cache.
    if (i === 0) continue;
    checkRuns.push(check);
    warmRuns.push(warm);
    tscRuns.push(tsc);
  }
  r.check = summarise(checkRuns);
  r.checkWarm = summarise(warmRuns);
  r.tsc = summarise(tscRuns);
  results[size] = r;
  console.log(`${size} modules (${size * 3} functions)`);
  console.log(`  ${formatRow('valet codegen (fresh write)', r.codegen)}`);
  console.log(`  ${formatRow('valet codegen --check', r.codegenCheck)}`);
  console.log(`  ${formatRow('valet check, cold (no .valet/)', r.check)}`);
  console.log(`  ${formatRow('valet check, one module edited', r.checkWarm)}`);
  console.log(`  ${formatRow('baseline: tsc --noEmit', r.tsc)}`);
  console.log(
    `  check / bare tsc: cold ${(r.check.medianMs / r.tsc.medianMs).toFixed(2)}×, one module edited ${(r.checkWarm.medianMs / r.tsc.medianMs).toFixed(2)}×`,
  );
}
// The CLI's start against node's own, interleaved: what the CLI adds is what it can change.
const [node, help] = measureInterleaved(
  [
    { command: process.execPath, args: ['-e', '0'], cwd: ROOT },
    { command: process.execPath, args: [VALET, '--help'], cwd: ROOT },
  ],
  { runs: 15 },
);
console.log(`\n${formatRow('baseline: node -e 0', node)}`);
console.log(formatRow('valet --help', help));
const helpAbove = help.medianMs - node.medianMs;

const load = loadavg().map((l) => l.toFixed(2));
console.log(`\nload average at the end: ${load.join(' ')}`);
console.log('\nTargets');
const verdict = (ok) => (ok ? 'met' : 'MISSED');
if (results[100]) {
  const c100 = results[100].codegen.medianMs;
  console.log(`  codegen, 100 modules ≤ 350 ms: ${c100.toFixed(0)} ms — ${verdict(c100 <= 350)}`);
  for (const [label, key] of [
    ['cold', 'check'],
    ['one module edited', 'checkWarm'],
  ]) {
    const ratio = results[100][key].medianMs / results[100].tsc.medianMs;
    console.log(
      `  check within 1.3× of bare tsc, 100 modules (${label}): ${ratio.toFixed(2)}× — ${verdict(ratio <= 1.3)}`,
    );
  }
}
if (results[100] && results[500]) {
  const growth = results[500].codegen.medianMs / results[100].codegen.medianMs;
  console.log(`  codegen growth 100 → 500 modules ≤ 3×: ${growth.toFixed(2)}× — ${verdict(growth <= 3)}`);
}
console.log(`  valet --help ≤ 25 ms above bare node: ${helpAbove.toFixed(0)} ms — ${verdict(helpAbove <= 25)}`);
if (!process.env.BENCH_KEEP) rmSync(WORK, { recursive: true, force: true });
