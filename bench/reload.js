// bench/reload (issues 5, 13, 25): on a generated 50-module app under the real `valet dev` with
// its default flags (the type check in the background, as users get it), the time from a file
// write to the first response served by the new code, over 50 edits, and where it goes (the
// stages valet dev prints: codegen, build, load, swap; the rest is the watcher, its 15 ms quiet
// period and the request); beside it, interleaved edit by edit, the same on a copy of the app
// under `valet dev --no-typecheck`. Each edit waits for the previous one's type check to finish,
// as a person's next save usually does. `valet dev` start to ready; resident memory at ready and
// after 10 and after 250 reloads. Baseline in the same run: the time for the same request when
// nothing changed (the floor any reload time sits on).
import { spawn } from 'node:child_process';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createGeneratedApp, moduleName, moduleSource, ROOT } from './_apps.js';
import { loadAverage, machine, summarise } from './_measure.js';

const VALET = join(ROOT, 'bin', 'valet.js');
const WORK = join(ROOT, 'bench', '.work', 'reload');
const MODULES = 50;
const EDITS = Number(process.env.BENCH_EDITS ?? 50);
const MEMORY_RELOADS = Number(process.env.BENCH_MEMORY_RELOADS ?? 250);
const PORT = 35000 + (process.pid % 1000);
const PLAIN_PORT = PORT + 1;
const TARGET = moduleName(25);

const markerModule = (n) =>
  moduleSource(25, `\nexport const marker = defineQuery({ access: 'public', handler: async () => ${n} });\n`);

function startDev(app, port = PORT, flags = []) {
  const started = performance.now();
  const child = spawn(process.execPath, [VALET, 'dev', '--port', String(port), ...flags], {
    cwd: app,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let output = '';
  const ready = new Promise((resolve, reject) => {
    child.stderr.on('data', (chunk) => {
      output += chunk;
      const ready = /Valet dev: .*\(ready in (\d+) ms/.exec(output);
      if (ready) resolve({ ms: performance.now() - started, inside: Number(ready[1]) });
    });
    child.on('exit', (code) => reject(new Error(`valet dev exited ${code}: ${output}`)));
  });
  return { child, ready, output: () => output, port };
}

const childrenOf = (pid) => {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  } catch {
    return [];
  }
};

/** Whether a type check (a tsc under valet dev: it starts them from a helper process) is running. */
function typeChecking(pid) {
  return childrenOf(pid).some((child) => {
    try {
      if (readFileSync(`/proc/${child}/cmdline`, 'utf8').includes('tsc')) return true;
    } catch {
      return false;
    }
    return typeChecking(child);
  });
}

async function untilTypeChecked(dev) {
  const started = performance.now();
  while (typeChecking(dev.child.pid) && performance.now() - started < 30_000)
    await new Promise((resolve) => setTimeout(resolve, 10));
}

async function marker(port = PORT) {
  const response = await fetch(`http://127.0.0.1:${port}/api/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ path: `${TARGET}:marker`, args: {} }),
  });
  return (await response.json()).value;
}

/** Writes a new marker value and polls until the server answers with it. */
async function editAndWait(app, n, port = PORT) {
  const started = performance.now();
  writeFileSync(join(app, 'valet', `${TARGET}.ts`), markerModule(n));
  for (;;) {
    if ((await marker(port)) === n) return performance.now() - started;
    if (performance.now() - started > 10_000) throw new Error(`edit ${n} never served`);
    // A short pause between polls: back-to-back requests would compete with the reload they measure.
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

function rssMb(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]) / 1024;
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
const stop = async (dev) => {
  dev.child.kill('SIGINT');
  await new Promise((resolve) => dev.child.once('exit', resolve));
};

console.log(`bench/reload on ${machine()}, load average ${loadAverage()}`);
const app = createGeneratedApp(join(WORK, 'default'), MODULES);
writeFileSync(join(app, 'valet', `${TARGET}.ts`), markerModule(0));
// The --no-typecheck copy: the same files, its own .valet/ (node_modules links are copied as links).
const plainApp = join(WORK, 'no-typecheck');
cpSync(app, plainApp, { recursive: true, verbatimSymlinks: true, filter: (src) => !src.includes('/.valet') });

// Start to ready: the first start also creates .valet/ and the database; report the warm ones.
const starts = [];
const insides = [];
for (let i = 0; i < 6; i++) {
  const dev = startDev(app);
  const { ms, inside } = await dev.ready;
  if (i > 0) {
    starts.push({ ms, rssMb: null });
    insides.push({ ms: inside, rssMb: null });
  }
  await stop(dev);
}
const start = summarise(starts);
const startInside = summarise(insides);

const dev = startDev(app);
const plain = startDev(plainApp, PLAIN_PORT, ['--no-typecheck']);
await Promise.all([dev.ready, plain.ready]);
await untilTypeChecked(dev);
await new Promise((resolve) => setTimeout(resolve, 1000));
const rssReady = rssMb(dev.child.pid);
try {
  const floor = [];
  for (let i = 0; i < 50; i++) {
    const t = performance.now();
    await marker();
    floor.push(performance.now() - t);
  }
  const reloads = [];
  const plainReloads = [];
  for (let n = 1; n <= EDITS; n++) {
    reloads.push(await editAndWait(app, n));
    await untilTypeChecked(dev);
    await new Promise((resolve) => setTimeout(resolve, 30));
    plainReloads.push(await editAndWait(plainApp, n, PLAIN_PORT));
    await new Promise((resolve) => setTimeout(resolve, 30));
  }
  const sorted = [...reloads].sort((a, b) => a - b);
  const plainSorted = [...plainReloads].sort((a, b) => a - b);
  const floorSorted = [...floor].sort((a, b) => a - b);
  // The stages of the edits' reloads, from the lines valet dev printed.
  const stageLines = [
    ...dev
      .output()
      .matchAll(/↻ valet\/\S+ → .* in (\d+) ms.*\(codegen ([\d.]+), build ([\d.]+), load ([\d.]+), swap ([\d.]+)\)/g),
  ].slice(-EDITS);
  const stageMedian = (column) =>
    percentile(
      stageLines.map((m) => Number(m[column])).sort((a, b) => a - b),
      0.5,
    );

  // Memory: RSS after 10 reloads and after MEMORY_RELOADS, each after a moment of quiet.
  let done = EDITS;
  const reloadUntil = async (count) => {
    while (done < count) {
      await editAndWait(app, ++done);
      await untilTypeChecked(dev);
    }
    await new Promise((resolve) => setTimeout(resolve, 1500));
    return rssMb(dev.child.pid);
  };
  const rssStart = rssMb(dev.child.pid);
  const rss10 = await reloadUntil(EDITS + 10);
  const rssMany = await reloadUntil(EDITS + MEMORY_RELOADS);

  console.log(
    `\n${MODULES}-module app, ${EDITS} edits of valet/${TARGET}.ts, each: write → poll until the new value is served`,
  );
  const row = (label, values) =>
    console.log(
      `  ${label.padEnd(40)} p50 ${percentile(values, 0.5).toFixed(0)} ms   p95 ${percentile(values, 0.95).toFixed(0)} ms   min ${values[0].toFixed(0)} ms   max ${values.at(-1).toFixed(0)} ms`,
    );
  row('write → first response (default flags)', sorted);
  row('the same with --no-typecheck', plainSorted);
  if (stageLines.length)
    console.log(
      `  of which, inside valet dev (medians)     reload ${stageMedian(1)} ms = codegen ${stageMedian(2)} + build ${stageMedian(3)} + load ${stageMedian(4)} + swap ${stageMedian(5)} ms; the rest is the watcher, its 15 ms quiet period and the request`,
    );
  console.log(
    `  baseline: same request, nothing changed  p50 ${percentile(floorSorted, 0.5).toFixed(2)} ms   p95 ${percentile(floorSorted, 0.95).toFixed(2)} ms`,
  );
  console.log(
    `  valet dev start → ready (warm, n=${start.runs})   median ${start.medianMs.toFixed(0)} ms   range ${start.minMs.toFixed(0)}–${start.maxMs.toFixed(0)} ms`,
  );
  console.log(
    `    of which: node, the CLI and loading the dev server ${(start.medianMs - startInside.medianMs).toFixed(0)} ms; the first build, the database and listening ${startInside.medianMs.toFixed(0)} ms (what valet dev prints as "ready in")`,
  );
  console.log(
    `  resident memory: at ready ${rssReady.toFixed(0)} MB, after ${EDITS} edits ${rssStart.toFixed(0)} MB, after ${EDITS + 10} reloads ${rss10.toFixed(0)} MB, after ${EDITS + MEMORY_RELOADS} reloads ${rssMany.toFixed(0)} MB (${(rssMany / rssReady).toFixed(2)}× ready)`,
  );

  const verdict = (ok) => (ok ? 'met' : 'MISSED');
  console.log(`\nload average at the end: ${loadAverage()}`);
  console.log('\nTargets');
  console.log(
    `  reload p50 ≤ 40 ms (default flags): ${percentile(sorted, 0.5).toFixed(0)} ms — ${verdict(percentile(sorted, 0.5) <= 40)}`,
  );
  console.log(
    `  reload p95 ≤ 100 ms (default flags): ${percentile(sorted, 0.95).toFixed(0)} ms — ${verdict(percentile(sorted, 0.95) <= 100)}`,
  );
  console.log(`  start to ready (warm) ≤ 400 ms: ${start.medianMs.toFixed(0)} ms — ${verdict(start.medianMs <= 400)}`);
  console.log(
    `  memory after ${EDITS + MEMORY_RELOADS} reloads ≤ 1.5× at ready: ${(rssMany / rssReady).toFixed(2)}× — ${verdict(rssMany / rssReady <= 1.5)}`,
  );
} finally {
  await stop(plain);
  await stop(dev);
  if (!process.env.BENCH_KEEP) rmSync(WORK, { recursive: true, force: true });
}
