// bench/mcp: what an agent waits for with `valet mcp` — from starting it to its first answer, and
// then each tool call (functions, a one-off query, run of a query, status) beside a running
// `valet dev`, interleaved with the same admin API call made directly (the baseline: what the
// MCP layer adds), and with no server running (its own engine on the database).
//
//   npm run bench -- mcp          BENCH_ROUNDS rounds (default 5) of BENCH_CALLS calls (default 20)
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { createBenchApp, ROOT } from './_apps.js';
import { machine } from './_measure.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const CALLS = Number(process.env.BENCH_CALLS ?? 20);
const BIN = join(ROOT, 'bin', 'valet.js');
const FILES = {
  'schema.ts': `import { defineSchema, defineTable, v } from './_generated/valet/api';
export default defineSchema({ items: defineTable({ key: v.string(), n: v.number() }).index('by_key', ['key']) });
`,
  'items.ts': `import { defineMutation, defineQuery, v } from './_generated/valet/api';
export const byKey = defineQuery({ args: { key: v.string() }, access: 'public', handler: async (ctx, args) => ctx.db.query('items').withIndex('by_key', (q) => q.eq('key', args.key)).first() });
export const seed = defineMutation({ access: 'system', handler: async (ctx) => { for (let i = 0; i < 1000; i++) await ctx.db.insert('items', { key: 'key-' + i, n: i }); } });
`,
};

const freePort = () =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const quantile = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))];
const fmt = (ms) => `${ms.toFixed(2)} ms`;
const verdict = (ok) => (ok ? 'met' : 'MISSED');

async function connect(app) {
  const started = performance.now();
  const client = new Client({ name: 'bench', version: '1' });
  await client.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: [BIN, 'mcp'],
      cwd: app,
      env: { ...process.env, NO_COLOR: '1' },
      stderr: 'ignore',
    }),
  );
  await client.listTools();
  return { client, readyMs: performance.now() - started };
}

async function timed(work) {
  const started = performance.now();
  const result = await work();
  if (result?.isError) throw new Error(JSON.stringify(result.content));
  return performance.now() - started;
}

const app = createBenchApp(join(ROOT, 'bench', '.work', 'mcp', 'app'), 'bench-mcp', FILES);
spawnSync(process.execPath, [BIN, 'codegen'], { cwd: app, stdio: 'ignore' });
spawnSync(process.execPath, [BIN, 'run', 'items:seed'], { cwd: app, stdio: 'ignore' });
console.log(
  `bench/mcp on ${machine()}; load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')} at start`,
);
console.log(`${ROUNDS} rounds × ${CALLS} calls of each tool, interleaved\n`);

// No server: the first answer includes building the app and opening the database.
const cold = [];
const offlineCalls = [];
for (let round = 0; round < ROUNDS; round++) {
  const { client, readyMs } = await connect(app);
  cold.push(readyMs + (await timed(() => client.callTool({ name: 'tables', arguments: {} }))));
  offlineCalls.push(
    await timed(() => client.callTool({ name: 'run', arguments: { function: 'items:byKey', args: { key: 'key-7' } } })),
  );
  await client.close();
}

const port = await freePort();
const dev = spawn(process.execPath, [BIN, 'dev', '--port', String(port), '--no-typecheck'], {
  cwd: app,
  stdio: ['ignore', 'ignore', 'pipe'],
  env: { ...process.env, NO_COLOR: '1' },
});
await new Promise((resolve) => {
  let text = '';
  dev.stderr.on('data', (chunk) => {
    text += chunk;
    if (/Valet dev: \d+ functions at/.test(text)) resolve();
  });
});
const url = `http://127.0.0.1:${port}`;
const adminKey = readFileSync(join(app, '.valet', 'admin-key'), 'utf8').trim();
const { client, readyMs } = await connect(app);
const samples = {
  'admin API: GET /admin/functions': [],
  'mcp functions': [],
  'admin API: POST /api/query': [],
  'mcp run (query)': [],
  'mcp query (one-off)': [],
  'mcp status': [],
};
const rows = {
  'admin API: GET /admin/functions': () =>
    fetch(`${url}/admin/functions`, { headers: { 'x-valet-admin-key': adminKey } }).then((r) => r.json()),
  'mcp functions': () => client.callTool({ name: 'functions', arguments: {} }),
  'admin API: POST /api/query': () =>
    fetch(`${url}/api/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-valet-admin-key': adminKey },
      body: JSON.stringify({ path: 'items:byKey', args: { key: 'key-7' } }),
    }).then((r) => r.json()),
  'mcp run (query)': () =>
    client.callTool({ name: 'run', arguments: { function: 'items:byKey', args: { key: 'key-7' } } }),
  'mcp query (one-off)': () =>
    client.callTool({
      name: 'query',
      arguments: { source: "return ctx.db.query('items').withIndex('by_key', (q) => q.eq('key', 'key-7')).first()" },
    }),
  'mcp status': () => client.callTool({ name: 'status', arguments: {} }),
};
for (let round = 0; round < ROUNDS; round++)
  for (const [label, call] of Object.entries(rows))
    for (let i = 0; i < CALLS; i++) samples[label].push(await timed(call));
await client.close();
dev.kill('SIGINT');

const line = (label, xs) =>
  console.log(
    `${label.padEnd(36)} p50 ${fmt(median(xs)).padStart(10)}   p95 ${fmt(quantile(xs, 0.95)).padStart(10)}   (n = ${xs.length})`,
  );
line('no server: start → first answer', cold);
line('no server: run (query)', offlineCalls);
console.log(`${'with valet dev: start → tools listed'.padEnd(36)} ${fmt(readyMs)}`);
for (const [label, xs] of Object.entries(samples)) line(label, xs);

// `functions` makes one admin call; `run` makes two (the function's kind, then the call).
const overhead = median(samples['mcp functions']) - median(samples['admin API: GET /admin/functions']);
console.log('\nTargets');
console.log(`  start → first answer with no server ≤ 2000 ms: ${fmt(median(cold))} — ${verdict(median(cold) <= 2000)}`);
console.log(
  `  a tool call beside valet dev ≤ 2 ms above the admin API call it makes (functions): +${fmt(overhead)} — ${verdict(overhead <= 2)}`,
);
console.log(
  `  status p50 ≤ 50 ms: ${fmt(median(samples['mcp status']))} — ${verdict(median(samples['mcp status']) <= 50)}`,
);
process.exit(0);
