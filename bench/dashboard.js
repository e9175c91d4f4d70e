// bench/dashboard (issue 16): on a real `valet dev` in headless Chromium, (1) the time from a
// function call to its row on the open invocations page (the call's own round trip, measured in
// the same run, is the baseline), and (2) the dashboard's first load until the invocations list
// is drawn (baseline: navigating to /api/health on the same server). Needs Debian's Chromium
// (scripts/install-browser.sh) and a build (npm run build).
import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { createBenchApp, ROOT } from './_apps.js';
import { loadAverage, machine, summarise } from './_measure.js';

const CHROMIUM = '/usr/bin/chromium';
if (!existsSync(CHROMIUM)) {
  console.error('bench/dashboard needs Chromium: bash scripts/install-browser.sh');
  process.exit(1);
}
const WORK = join(ROOT, 'bench', '.work', 'dashboard');
const CALLS = 40;
const LOADS = 10;
const ms = (value) => `${value.toFixed(1)} ms`;

createBenchApp(WORK, 'bench-dashboard', {
  'schema.ts': `import { defineSchema, defineTable, v } from './_generated/valet/api';\nexport default defineSchema({ pings: defineTable({ n: v.number() }) });\n`,
  'jobs.ts': `import { defineAction, v } from './_generated/valet/api';
export const ping = defineAction({ args: { n: v.number() }, access: 'public', handler: async (ctx, args) => { await ctx.db.insert('pings', { n: args.n }); return args.n; } });
`,
});

console.log(`bench/dashboard on ${machine()}, load average ${loadAverage()}\n`);
const port = await new Promise((resolve) => {
  const probe = createServer().listen(0, '127.0.0.1', () => {
    const { port: free } = probe.address();
    probe.close(() => resolve(free));
  });
});
const dev = spawn(process.execPath, [join(ROOT, 'bin', 'valet.js'), 'dev', '--port', String(port), '--no-typecheck'], {
  cwd: WORK,
  env: { ...process.env, NO_COLOR: '1' },
  stdio: ['ignore', 'pipe', 'pipe'],
});
let output = '';
const ready = new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error(`valet dev did not start:\n${output}`)), 60_000);
  const onData = (chunk) => {
    output += chunk;
    const match = /at (http:\/\/127\.0\.0\.1:\d+)[^\n]*\n\s*Dashboard: (\S+)/.exec(output);
    if (match) {
      clearTimeout(timer);
      resolve({ url: match[1], link: match[2] });
    }
  };
  dev.stdout.on('data', onData);
  dev.stderr.on('data', onData);
});
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'],
});
try {
  const { url, link } = await ready;
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(link);

  // 2. First load (fresh page each time, the session cookie already set), and the baseline.
  const loads = [];
  const baseline = [];
  for (let i = 0; i < LOADS + 1; i++) {
    const fresh = await context.newPage();
    let started = performance.now();
    await fresh.goto(`${url}/api/health`);
    if (i > 0) baseline.push(performance.now() - started);
    started = performance.now();
    await fresh.goto(`${url}/_dashboard/#/invocations`);
    await fresh.locator('tbody tr').first().waitFor();
    if (i > 0) loads.push(performance.now() - started);
    await fresh.close();
  }

  // 1. Call → row, with the invocations page open and live.
  await page.goto(`${url}/_dashboard/#/invocations`);
  await page.getByTestId('connection').filter({ hasText: 'Live' }).waitFor();
  const rows = () => page.evaluate(() => document.querySelectorAll('[data-testid=invocation]').length);
  const shown = [];
  const roundTrips = [];
  for (let n = 0; n < CALLS; n++) {
    const before = await rows();
    const started = performance.now();
    const response = await fetch(`${url}/api/action`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ path: 'jobs:ping', args: { n } }),
    });
    await response.json();
    roundTrips.push(performance.now() - started);
    await page.waitForFunction(
      (count) => document.querySelectorAll('[data-testid=invocation]').length > count,
      before,
      { polling: 'raf' },
    );
    shown.push(performance.now() - started);
  }
  const stats = (values) => {
    const s = summarise(values.map((value) => ({ ms: value, rssMb: null })));
    return { median: s.medianMs, q1: s.p25Ms, q3: s.p75Ms, max: s.maxMs };
  };
  const live = stats(shown);
  const trip = stats(roundTrips);
  const load = stats(loads);
  const health = stats(baseline);
  console.log(`Call → its row on the open invocations page (${CALLS} calls, one at a time)`);
  console.log(
    `  baseline: the call's HTTP round trip       p50 ${ms(trip.median)}   (IQR ${ms(trip.q1)}–${ms(trip.q3)})`,
  );
  console.log(
    `  row visible in the page                    p50 ${ms(live.median)}   (IQR ${ms(live.q1)}–${ms(live.q3)}, max ${ms(live.max)})   target p50 ≤ 100 ms — ${live.median <= 100 ? 'met' : 'MISSED'}`,
  );
  console.log(`\nFirst load until the invocations list is drawn (${LOADS} fresh pages)`);
  console.log(
    `  baseline: navigating to /api/health        median ${ms(health.median)}   (IQR ${ms(health.q1)}–${ms(health.q3)})`,
  );
  console.log(
    `  dashboard                                  median ${ms(load.median)}   (IQR ${ms(load.q1)}–${ms(load.q3)})   target ≤ 1000 ms — ${load.median <= 1000 ? 'met' : 'MISSED'}`,
  );
} finally {
  await browser.close();
  if (dev.exitCode === null) {
    dev.kill('SIGINT');
    await new Promise((resolve) => dev.once('exit', resolve));
  }
  if (!process.env.BENCH_KEEP) rmSync(WORK, { recursive: true, force: true });
}
