// bench/testing (issue 12): what one test costs with valet/testing — a fresh valetTest() (its own
// database) plus one mutation and one query, in-process — against the same two calls over HTTP to
// a running `valet start` of the same app, measured in the same run. Target: a fresh harness plus
// a call under 5 ms median once the suite's first build is done (the build is cached per suite).
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { createBenchApp, ROOT } from './_apps.js';
import { loadAverage, machine } from './_measure.js';

const { valetTest } = await import(join(ROOT, 'dist', 'testing', 'index.js'));
const VALET = join(ROOT, 'bin', 'valet.js');
const WORK = join(ROOT, 'bench', '.work', 'testing');
const PORT = 37000 + (process.pid % 1000);
const ROUNDS = 300;

createBenchApp(WORK, 'bench-testing', {
  'schema.ts': `import { defineSchema, defineTable, v } from './_generated/valet/api';
export default defineSchema({ notes: defineTable({ text: v.string(), done: v.boolean() }).index('by_done', ['done']) });
`,
  'notes.ts': `import { defineMutation, defineQuery, v } from './_generated/valet/api';
export const add = defineMutation({ args: { text: v.string() }, access: 'public', handler: async (ctx, args) => ctx.db.insert('notes', { text: args.text, done: false }) });
export const open = defineQuery({ args: {}, access: 'public', handler: async (ctx) => ctx.db.query('notes').withIndex('by_done', (q) => q.eq('done', false)).collect() });
`,
});
spawnSync(process.execPath, [VALET, 'codegen'], { cwd: WORK, stdio: 'ignore' });

const stats = (samples) => {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { median: at(0.5), p25: at(0.25), p75: at(0.75), p95: at(0.95) };
};
const fmt = (s) =>
  `median ${s.median.toFixed(2)} ms   IQR ${s.p25.toFixed(2)}–${s.p75.toFixed(2)} ms   p95 ${s.p95.toFixed(2)} ms`;

// The suite's first harness builds the app (esbuild + evaluation); later ones reuse the build.
let started = performance.now();
const first = await valetTest({ appDir: WORK });
const firstBuild = performance.now() - started;
await first.close();

const harness = [];
for (let i = 0; i < ROUNDS; i++) {
  started = performance.now();
  const t = await valetTest({ appDir: WORK });
  await t.mutation('notes:add', { text: `note ${i}` });
  const open = await t.query('notes:open', {});
  harness.push(performance.now() - started);
  if (open.length !== 1) throw new Error('the harness returned the wrong notes');
  await t.close();
}

// The same two calls over HTTP to a running server (the baseline a test would otherwise pay).
const server = spawn(process.execPath, [VALET, 'start', '--port', String(PORT)], {
  cwd: WORK,
  stdio: ['ignore', 'ignore', 'pipe'],
});
await new Promise((resolve, reject) => {
  let text = '';
  server.stderr.on('data', (chunk) => {
    text += chunk;
    if (text.includes('Valet serving')) resolve();
  });
  server.on('exit', () => reject(new Error(`valet start exited:\n${text}`)));
});
const post = async (kind, body) => {
  const response = await fetch(`http://127.0.0.1:${PORT}/api/${kind}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return response.json();
};
const http = [];
try {
  for (let i = 0; i < 20; i++) await post('query', { path: 'notes:open', args: {} });
  for (let i = 0; i < ROUNDS; i++) {
    started = performance.now();
    await post('mutation', { path: 'notes:add', args: { text: `note ${i}` } });
    await post('query', { path: 'notes:open', args: {} });
    http.push(performance.now() - started);
  }
} finally {
  server.kill('SIGINT');
}

const harnessStats = stats(harness);
const httpStats = stats(http);
console.log(`bench/testing on ${machine()}, load average ${loadAverage()}`);
console.log(`first harness (builds the app):           ${firstBuild.toFixed(0)} ms`);
console.log(`fresh valetTest() + mutation + query:     ${fmt(harnessStats)}   (n=${ROUNDS})`);
console.log(
  `same two calls over HTTP (valet start):   ${fmt(httpStats)}   (n=${ROUNDS}; grows with the table, the harness starts empty)`,
);
console.log(`ratio harness / HTTP: ${(harnessStats.median / httpStats.median).toFixed(2)}`);
console.log(`target: fresh harness + calls < 5 ms median — ${harnessStats.median < 5 ? 'met' : 'MISSED'}`);
