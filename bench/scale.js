// bench/scale: several `valet start` instances on one PostgreSQL database (real processes,
// loopback). (1) Cross-instance update latency: a mutation sent to instance A until a live query
// on instance B shows it, against the same mutation until a live query on A itself shows it
// (the baseline, measured interleaved in the same run); target: p50 within 2 ms of it.
// (2) Outbox throughput to a local SMTP server with 1 instance, then with 3.
import { fork, spawn, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { createBenchApp, ROOT } from './_apps.js';
import { loadAverage, machine } from './_measure.js';
import { benchDatabase } from './_postgres.js';

const { ValetClient } = await import(join(ROOT, 'dist', 'client', 'index.js'));
const { functionRef } = await import(join(ROOT, 'dist', 'server', 'index.js'));
const VALET = join(ROOT, 'bin', 'valet.js');
const WORK = join(ROOT, 'bench', '.work', 'scale');
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 300);
const EMAILS = Number(process.env.BENCH_EMAILS ?? 2000);
const percentile = (values, p) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(p * values.length))];

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const children = [];
async function startInstance(env) {
  const port = await freePort();
  const child = spawn(process.execPath, [VALET, 'start', '--port', String(port)], {
    cwd: WORK,
    env: { ...process.env, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  await new Promise((resolve, reject) => {
    let text = '';
    child.stderr.on('data', (chunk) => {
      text += chunk;
      if (/Valet serving/.test(text)) resolve();
    });
    child.on('exit', (code) => reject(new Error(`valet start exited ${code}: ${text}`)));
  });
  const url = `http://127.0.0.1:${port}`;
  while ((await fetch(`${url}/api/ready`)).status !== 200) await new Promise((resolve) => setTimeout(resolve, 20));
  return { url, child };
}

async function mutate(url, path, args) {
  const response = await fetch(`${url}/api/mutation`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ path, args }),
  });
  if (response.status !== 200) throw new Error(`${path} → ${response.status} ${await response.text()}`);
  return (await response.json()).value;
}

/** A client subscribed to items:latest on `url`; `waitFor(n)` resolves when it shows n. */
async function watcher(url) {
  const client = new ValetClient(url, { WebSocket });
  let current = null;
  let waiting = null;
  client.subscribe(functionRef('items:latest', 'query', { access: 'public' }), {}, (value) => {
    current = value;
    if (waiting && value === waiting.n) waiting.resolve(performance.now());
  });
  while (current === null) await new Promise((resolve) => setTimeout(resolve, 10));
  return {
    client,
    waitFor: (n) => new Promise((resolve) => (current === n ? resolve(performance.now()) : (waiting = { n, resolve }))),
  };
}

console.log(`bench/scale on ${machine()}, load average ${loadAverage()}\n`);
rmSync(WORK, { recursive: true, force: true });
createBenchApp(WORK, 'bench-scale', {
  'schema.ts': `import { defineSchema, defineTable, v } from './_generated/valet/api';
export default defineSchema({ items: defineTable({ n: v.number() }).index('by_n', ['n']) });
`,
  'items.ts': `import { defineMutation, defineQuery, v } from './_generated/valet/api';
export const latest = defineQuery({ access: 'public', handler: async (ctx) => (await ctx.db.query('items').withIndex('by_n').order('desc').first())?.n ?? 0 });
export const put = defineMutation({ args: { n: v.number() }, access: 'public', handler: async (ctx, args) => ctx.db.insert('items', { n: args.n }) });
export const mail = defineMutation({
  args: { prefix: v.string(), count: v.number() },
  access: 'public',
  handler: async (ctx, args) => {
    for (let i = 0; i < args.count; i++) await ctx.email.enqueue({ to: 'bench@example.com', subject: 'bench ' + i, text: 'x', deliveryKey: args.prefix + '-' + i });
  },
});
`,
});
spawnSync(process.execPath, [VALET, 'codegen'], { cwd: WORK, stdio: 'ignore' });

const database = await benchDatabase();
const smtp = fork(join(ROOT, 'bench', '_smtp-sink.js'), [], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
const smtpPort = await new Promise((resolve) =>
  smtp.stdout.once('data', (chunk) => resolve(Number(String(chunk).trim()))),
);
const received = () =>
  new Promise((resolve) => {
    smtp.once('message', (message) => resolve(message.received));
    smtp.send('count');
  });
const env = { VALET_DATABASE_URL: database.url, VALET_SMTP_URL: `smtp://127.0.0.1:${smtpPort}` };
const clients = [];
try {
  const a = await startInstance(env);
  const b = await startInstance(env);
  const onA = await watcher(a.url);
  const onB = await watcher(b.url);
  clients.push(onA.client, onB.client);
  const same = [];
  const cross = [];
  for (let i = 1; i <= SAMPLES; i++) {
    const started = performance.now();
    const seenA = onA.waitFor(i);
    const seenB = onB.waitFor(i);
    await mutate(a.url, 'items:put', { n: i });
    same.push((await seenA) - started);
    cross.push((await seenB) - started);
  }
  const row = (label, values) =>
    `${label.padEnd(46)} p50 ${percentile(values, 0.5).toFixed(2)} ms   p99 ${percentile(values, 0.99).toFixed(2)} ms   (n=${values.length})`;
  console.log('Mutation on A until a live query shows it');
  console.log(row('  baseline: the subscriber on A (same instance)', same));
  console.log(row('  the subscriber on B (another instance)', cross));
  const gap = percentile(cross, 0.5) - percentile(same, 0.5);
  console.log(
    `  target: cross-instance p50 within 2 ms of same-instance: +${gap.toFixed(2)} ms — ${gap <= 2 ? 'met' : 'MISSED'}\n`,
  );

  // Outbox throughput: A alone, then A, B and C.
  b.child.kill('SIGINT');
  await new Promise((resolve) => b.child.once('exit', resolve));
  const throughput = async (label, prefix) => {
    const before = await received();
    const started = performance.now();
    await mutate(a.url, 'items:mail', { prefix, count: EMAILS });
    while ((await received()) - before < EMAILS) await new Promise((resolve) => setTimeout(resolve, 20));
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `  ${label.padEnd(44)} ${EMAILS} emails in ${seconds.toFixed(2)} s: ${Math.round(EMAILS / seconds)} emails/s`,
    );
    return EMAILS / seconds;
  };
  console.log('Outbox throughput to a local SMTP server');
  const one = await throughput('1 instance', 'one');
  await startInstance(env);
  await startInstance(env);
  const three = await throughput('3 instances', 'three');
  console.log(
    `  3 instances / 1 instance: ${(three / one).toFixed(2)}× (on ${machine().split(',')[0]}: the instances share these cores)`,
  );
} finally {
  clients.forEach((client) => client.close());
  for (const child of children) child.kill('SIGINT');
  await new Promise((resolve) => setTimeout(resolve, 800));
  smtp.kill();
  await database.drop();
  if (!process.env.BENCH_KEEP) rmSync(WORK, { recursive: true, force: true });
}
