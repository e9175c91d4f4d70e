// bench/reactive (issue 6): over loopback against the real `valet start` (its own process):
// a mutation by client A until client B's live query shows it; one write fanning out to 1000
// subscriptions over 10 connections; the optimistic apply inside the client. Baseline in the same
// run: one HTTP query round trip to the same server.
import { spawn, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { createBenchApp, ROOT } from './_apps.js';
import { loadAverage, machine } from './_measure.js';

const { ValetClient } = await import(join(ROOT, 'dist', 'client', 'index.js'));
const { functionRef } = await import(join(ROOT, 'dist', 'server', 'index.js'));
const VALET = join(ROOT, 'bin', 'valet.js');
const WORK = join(ROOT, 'bench', '.work', 'reactive');
const PORT = 36000 + (process.pid % 1000);
const URL = `http://127.0.0.1:${PORT}`;
const percentile = (values, p) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(p * values.length))];
const fmt = (ms) => (ms < 1 ? `${(ms * 1000).toFixed(0)} µs` : `${ms.toFixed(2)} ms`);

createBenchApp(WORK, 'bench-reactive', {
  'schema.ts': `import { defineSchema, defineTable, v } from './_generated/valet/api';
export default defineSchema({ items: defineTable({ key: v.string(), n: v.number() }).index('by_key', ['key']) });
`,
  'items.ts': `import { defineMutation, defineQuery, v } from './_generated/valet/api';
/** 'watcher' only makes subscriptions distinct; they all read the same index range. */
export const byKey = defineQuery({
  args: { key: v.string(), watcher: v.optional(v.number()) },
  access: 'public',
  handler: async (ctx, args) => (await ctx.db.query('items').withIndex('by_key', (q) => q.eq('key', args.key)).first())?.n ?? null,
});
export const set = defineMutation({
  args: { key: v.string(), n: v.number() },
  access: 'public',
  handler: async (ctx, args) => {
    const existing = await ctx.db.query('items').withIndex('by_key', (q) => q.eq('key', args.key)).first();
    if (existing) await ctx.db.patch(existing._id, { n: args.n });
    else await ctx.db.insert('items', args);
  },
});
`,
});
spawnSync(process.execPath, [VALET, 'codegen'], { cwd: WORK, stdio: 'ignore' });
const server = spawn(process.execPath, [VALET, 'start', '--port', String(PORT)], {
  cwd: WORK,
  stdio: ['ignore', 'ignore', 'pipe'],
});
await new Promise((resolve, reject) => {
  let text = '';
  server.stderr.on('data', (chunk) => ((text += chunk), /Valet serving/.test(text) && resolve()));
  server.on('exit', (code) => reject(new Error(`server exited ${code}: ${text}`)));
});

const byKey = functionRef('items:byKey', 'query', { access: 'public' });
const set = functionRef('items:set', 'mutation', { access: 'public' });
const newClient = () => new ValetClient(URL, { WebSocket });
const clients = [];
try {
  console.log(`bench/reactive on ${machine()}, load average ${loadAverage()}\n`);
  // Baseline: one HTTP query round trip.
  const a = newClient();
  const b = newClient();
  clients.push(a, b);
  await a.mutation(set, { key: 'ab', n: 0 });
  const http = [];
  for (let i = 0; i < 300; i++) {
    const t = performance.now();
    await a.query(byKey, { key: 'ab' });
    http.push(performance.now() - t);
  }

  // A writes, B sees.
  let waiting = null;
  b.subscribe(byKey, { key: 'ab' }, (value) => waiting?.(value));
  await new Promise((resolve) => (waiting = (v) => v === 0 && resolve()));
  const propagation = [];
  for (let n = 1; n <= 300; n++) {
    const seen = new Promise((resolve) => (waiting = (v) => v === n && resolve(performance.now())));
    const t = performance.now();
    void a.mutation(set, { key: 'ab', n });
    propagation.push((await seen) - t);
  }

  // Fan-out: 10 connections × 100 subscriptions on the same index range, one write.
  const watchers = Array.from({ length: 10 }, newClient);
  clients.push(...watchers);
  await a.mutation(set, { key: 'fan', n: 0 });
  let expected = 0;
  let remaining = 0;
  let allSeen = null;
  for (const [c, watcher] of watchers.entries()) {
    for (let i = 0; i < 100; i++) {
      watcher.subscribe(byKey, { key: 'fan', watcher: c * 100 + i }, (value) => {
        if (value === expected && --remaining === 0) allSeen?.(performance.now());
      });
    }
  }
  remaining = 1000;
  await new Promise((resolve) => (allSeen = resolve));
  const fanout = [];
  for (let n = 1; n <= 20; n++) {
    expected = n;
    remaining = 1000;
    const done = new Promise((resolve) => (allSeen = resolve));
    const t = performance.now();
    void a.mutation(set, { key: 'fan', n });
    fanout.push((await done) - t);
  }

  // Optimistic apply: mutation call → subscriber sees the optimistic value (inside the client).
  const c = newClient();
  clients.push(c);
  await c.mutation(set, { key: 'opt', n: 0 });
  let optimisticSeen = null;
  c.subscribe(byKey, { key: 'opt' }, (value) => optimisticSeen?.(value));
  await new Promise((resolve) => (optimisticSeen = (v) => v === 0 && resolve()));
  const optimistic = [];
  for (let n = 1; n <= 500; n++) {
    let at = 0;
    optimisticSeen = (v) => v === -n && !at && (at = performance.now());
    const t = performance.now();
    const done = c.mutation(
      set,
      { key: 'opt', n },
      { optimisticUpdate: (store) => store.setQuery(byKey, { key: 'opt' }, -n) },
    );
    optimistic.push(at - t);
    await done;
  }

  console.log(
    `  baseline: HTTP query round trip             p50 ${fmt(percentile(http, 0.5))}   p99 ${fmt(percentile(http, 0.99))}`,
  );
  console.log(
    `  mutation by A → update seen by B (n=300)   p50 ${fmt(percentile(propagation, 0.5))}   p99 ${fmt(percentile(propagation, 0.99))}   target p50 ≤ 2 ms — ${percentile(propagation, 0.5) <= 2 ? 'met' : 'MISSED'}`,
  );
  console.log(
    `  one write → 1000 subscriptions on 10 conns p50 ${fmt(percentile(fanout, 0.5))}   p99 ${fmt(percentile(fanout, 0.99))} to the last one (n=20)   target p50 ≤ 5 ms — ${percentile(fanout, 0.5) <= 5 ? 'met' : 'MISSED'}`,
  );
  console.log(
    `  optimistic apply in the client (n=500)     p50 ${fmt(percentile(optimistic, 0.5))}   p99 ${fmt(percentile(optimistic, 0.99))}   target ≤ 1 ms — ${percentile(optimistic, 0.5) <= 1 ? 'met' : 'MISSED'}`,
  );
  await serverTime();
} finally {
  clients.forEach((client) => client.close());
  server.kill('SIGINT');
  await new Promise((resolve) => setTimeout(resolve, 300));
  if (!process.env.BENCH_KEEP) rmSync(WORK, { recursive: true, force: true });
}

/**
 * Server time alone, in this process: the engine and the subscription hub that `valet start`
 * uses, 1000 subscriptions on 10 subscribers that serialise what they get (as the WebSocket
 * would), one write, until every update is handed over. Distinct subscriptions (each query runs)
 * and identical ones (one run between them), and the heap each subscription holds.
 */
async function serverTime() {
  const { createEngine } = await import(join(ROOT, 'dist', 'runtime', 'engine.js'));
  const { buildAndLoad } = await import(join(ROOT, 'dist', 'bundler', 'evaluate.js'));
  const { SubscriptionHub, updateJson } = await import(join(ROOT, 'dist', 'runtime', 'subscriptions', 'hub.js'));
  const v8 = await import('node:v8');
  const vm = await import('node:vm');
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc');
  const engine = await createEngine({
    modules: await buildAndLoad(WORK),
    database: join(WORK, '.valet', 'hub.db'),
    env: {},
    log: () => undefined,
  });
  const write = (n) =>
    engine.call({
      kind: 'mutation',
      path: 'items:set',
      args: { key: 'hub', n },
      invoker: { type: 'anonymous' },
      external: true,
    });
  await write(0);
  const measureFanout = async (argsOf) => {
    const hub = new SubscriptionHub(
      () => engine,
      () => ({ status: 503, body: {}, headers: {} }),
      () => undefined,
    );
    let bytes = 0;
    const subscribers = Array.from({ length: 10 }, () => ({
      invoker: { type: 'anonymous' },
      deliver: (updates) => (bytes += updates.map(updateJson).join(',').length),
    }));
    gc();
    const before = process.memoryUsage().heapUsed;
    for (const [c, subscriber] of subscribers.entries())
      for (let i = 0; i < 100; i++) await hub.subscribe(subscriber, `s${i}`, 'items:byKey', argsOf(c * 100 + i));
    gc();
    const perSubscription = (process.memoryUsage().heapUsed - before) / 1000;
    const times = [];
    for (let n = 1; n <= 30; n++) {
      const t = performance.now();
      await write(n);
      await hub.settled();
      times.push(performance.now() - t);
    }
    hub.close();
    return { p50: percentile(times, 0.5), perSubscription, bytes };
  };
  const distinct = await measureFanout((i) => ({ key: 'hub', watcher: i }));
  const same = await measureFanout(() => ({ key: 'hub' }));
  const writeAlone = [];
  for (let n = 100; n < 130; n++) {
    const t = performance.now();
    await write(n);
    writeAlone.push(performance.now() - t);
  }
  await engine.close();
  const base = percentile(writeAlone, 0.5);
  const perRerun = ((distinct.p50 - base) * 1000) / 1000;
  console.log('\nServer time in-process (the engine and hub of valet start; 1000 subscriptions, 10 subscribers)');
  console.log(`  baseline: the write alone                  p50 ${fmt(base)}`);
  console.log(
    `  write → every update handed over, distinct p50 ${fmt(distinct.p50)}   ${perRerun.toFixed(1)} µs per re-run subscription   target ≤ 5 µs — ${perRerun <= 5 ? 'met' : 'MISSED'}`,
  );
  console.log(`  the same, 1000 identical subscriptions     p50 ${fmt(same.p50)}   (one run between them)`);
  console.log(
    `  heap per subscription                      ${(distinct.perSubscription / 1024).toFixed(2)} KiB (distinct), ${(same.perSubscription / 1024).toFixed(2)} KiB (identical)`,
  );
}
