// bench/invoke (issue 3): requests/s and p50/p99 latency over loopback for a query by index, a
// mutation inserting one document, an action doing one auto-commit write, and a replayed
// idempotent action — against a minimal node:http + better-sqlite3 baseline in the same run.
// The server is the real built `valet start` in its own process; autocannon runs here.
import autocannon from 'autocannon';
import { spawn, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createBenchApp } from './_apps.js';
import { machine } from './_measure.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const WORK = join(ROOT, 'bench', '.work', 'invoke');
const VALET = join(ROOT, 'bin', 'valet.js');
const DURATION = Number(process.env.BENCH_DURATION ?? 5);
const CONNECTIONS = 50;

function createApp() {
  createBenchApp(WORK, 'bench-invoke', {
    'schema.ts': `import { defineSchema, defineTable, v } from './_generated/valet/api';
export default defineSchema({ items: defineTable({ key: v.string(), n: v.number() }).index('by_key', ['key']) });
`,
    'items.ts': `import { defineAction, defineMutation, defineQuery, v } from './_generated/valet/api';
export const byKey = defineQuery({ args: { key: v.string() }, access: 'public', handler: async (ctx, args) => ctx.db.query('items').withIndex('by_key', (q) => q.eq('key', args.key)).first() });
export const byKeySignedIn = defineQuery({ args: { key: v.string() }, handler: async (ctx, args) => ctx.db.query('items').withIndex('by_key', (q) => q.eq('key', args.key)).first() });
export const insert = defineMutation({ args: { key: v.string(), n: v.number() }, access: 'public', handler: async (ctx, args) => ctx.db.insert('items', args) });
export const write = defineAction({ args: { key: v.string(), n: v.number() }, access: 'public', handler: async (ctx, args) => ctx.db.insert('items', args) });
export const seed = defineMutation({ access: 'system', handler: async (ctx) => { for (let i = 0; i < 1000; i++) await ctx.db.insert('items', { key: 'key-' + i, n: i }); } });
`,
  });
}

function waitForLine(child, pattern) {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (chunk) => {
      text += chunk;
      const match = text.match(pattern);
      if (match) resolve(match);
    };
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`server exited ${code}: ${text}`)));
  });
}

function load(url, path, args, headers = {}, connections = CONNECTIONS) {
  return new Promise((resolve, reject) => {
    autocannon(
      { url, method: 'POST', connections, duration: DURATION, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ path, args }) },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
  });
}

function row(label, result) {
  const non2xx = result.non2xx ? `  non-2xx ${result.non2xx}` : '';
  return `${label.padEnd(44)} ${String(Math.round(result.requests.average)).padStart(6)} req/s   p50 ${String(result.latency.p50).padStart(3)} ms   p99 ${String(result.latency.p99).padStart(3)} ms   (stdev ${Math.round(result.requests.stddev)} req/s)${non2xx}`;
}

console.log(`bench/invoke on ${machine()}`);
console.log(`${CONNECTIONS} connections, ${DURATION} s per run, autocannon over loopback\n`);
createApp();
spawnSync(process.execPath, [VALET, 'codegen'], { cwd: WORK, stdio: 'ignore' });
const valetPort = 34000 + (process.pid % 1000);
const basePort = valetPort + 1;
const server = spawn(process.execPath, [VALET, 'start', '--port', String(valetPort), '--dev-auth'], { cwd: WORK, stdio: ['ignore', 'ignore', 'pipe'] });
const baseline = spawn(process.execPath, [join(ROOT, 'bench', '_baseline-server.js'), join(WORK, 'baseline.db'), String(basePort)], { stdio: ['ignore', 'ignore', 'pipe'] });
try {
  const valetUrl = (await waitForLine(server, /at (http:\/\/127\.0\.0\.1:\d+)/))[1];
  await waitForLine(baseline, /baseline ready/);
  spawnSync(process.execPath, [VALET, 'run', 'items:seed'], { cwd: WORK, stdio: 'ignore' });
  const token = spawnSync(process.execPath, [VALET, 'token', 'bench-user'], { cwd: WORK, encoding: 'utf8' }).stdout.trim();
  const baseUrl = `http://127.0.0.1:${basePort}`;

  const results = {};
  results.baselineQuery = await load(`${baseUrl}/api/query`, 'items:byKey', { key: 'key-500' });
  results.query = await load(`${valetUrl}/api/query`, 'items:byKey', { key: 'key-500' });
  results.querySignedIn = await load(`${valetUrl}/api/query`, 'items:byKeySignedIn', { key: 'key-500' }, { authorization: `Bearer ${token}` });
  results.baselineInsert = await load(`${baseUrl}/api/mutation`, 'items:insert', { key: 'new', n: 1 });
  results.mutation = await load(`${valetUrl}/api/mutation`, 'items:insert', { key: 'new', n: 1 });
  results.action = await load(`${valetUrl}/api/action`, 'items:write', { key: 'action', n: 1 });
  await fetch(`${valetUrl}/api/action`, { method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': 'bench-replay' }, body: JSON.stringify({ path: 'items:write', args: { key: 'once', n: 1 } }) });
  results.replay = await load(`${valetUrl}/api/action`, 'items:write', { key: 'once', n: 1 }, { 'idempotency-key': 'bench-replay' });
  results.replaySingle = await load(`${valetUrl}/api/action`, 'items:write', { key: 'once', n: 1 }, { 'idempotency-key': 'bench-replay' }, 1);
  results.baselineQuerySingle = await load(`${baseUrl}/api/query`, 'items:byKey', { key: 'key-500' }, {}, 1);
  results.querySingle = await load(`${valetUrl}/api/query`, 'items:byKey', { key: 'key-500' }, {}, 1);

  console.log(row('baseline: node:http + better-sqlite3 query', results.baselineQuery));
  console.log(row('valet query by index (public)', results.query));
  console.log(row('valet query by index (ES256 JWT)', results.querySignedIn));
  console.log(row('baseline: node:http + better-sqlite3 insert', results.baselineInsert));
  console.log(row('valet mutation, one insert', results.mutation));
  console.log(row('valet action, one auto-commit write', results.action));
  console.log(row('valet replayed idempotent action', results.replay));
  console.log('\nOne connection (latency without queueing)');
  console.log(row('baseline query', results.baselineQuerySingle));
  console.log(row('valet query by index', results.querySingle));
  console.log(row('valet replayed idempotent action', results.replaySingle));

  const ratio = (a, b) => a.requests.average / b.requests.average;
  const verdict = (ok) => (ok ? 'met' : 'MISSED');
  const q = ratio(results.query, results.baselineQuery);
  const m = ratio(results.mutation, results.baselineInsert);
  console.log('\nTargets');
  console.log(`  query ≥ 60% of baseline req/s: ${(q * 100).toFixed(0)}% — ${verdict(q >= 0.6)}`);
  console.log(`  mutation ≥ 60% of baseline req/s: ${(m * 100).toFixed(0)}% — ${verdict(m >= 0.6)}`);
  for (const [name, key] of [['query', 'query'], ['mutation', 'mutation'], ['action', 'action']]) {
    console.log(`  ${name} p99 ≤ 10 ms at ${CONNECTIONS} connections: ${results[key].latency.p99} ms — ${verdict(results[key].latency.p99 <= 10)}`);
  }
  // With one connection, requests are back to back: the mean latency is 1 / throughput.
  const replayMean = 1000 / results.replaySingle.requests.average;
  console.log(`  replay p50 ≤ 1 ms (1 connection): p50 ${results.replaySingle.latency.p50} ms (autocannon rounds to whole ms), mean ${replayMean.toFixed(2)} ms — ${verdict(results.replaySingle.latency.p50 <= 1)}`);
  console.log(`  (at ${CONNECTIONS} connections the replay p50 is ${results.replay.latency.p50} ms: ${CONNECTIONS} requests in flight queue behind each other)`);
} finally {
  server.kill('SIGINT');
  baseline.kill('SIGINT');
  await new Promise((resolve) => setTimeout(resolve, 300));
  if (!process.env.BENCH_KEEP) rmSync(WORK, { recursive: true, force: true });
}
