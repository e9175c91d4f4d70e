// bench/outbox (issues 4, 17): enqueue overhead (a mutation with one ctx.email.enqueue or one
// ctx.push.enqueue vs the same mutation without it), delivery throughput to a local SMTP server
// (pooled), to a local Web Push service and through the capture transport, and cron dispatch lag
// (tick → handler start). Baselines in the same run: the mutation without enqueue; nodemailer
// sending the same messages directly; web-push's request (VAPID + encryption) posted directly;
// setTimeout's own lag.
import { fork } from 'node:child_process';
import { createECDH, randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createBenchApp, ROOT } from './_apps.js';
import { loadAverage, machine } from './_measure.js';

const dist = (path) => import(join(ROOT, 'dist', path));
const { buildAndLoad } = await dist('bundler/evaluate.js');
const { runCodegen } = await dist('codegen/index.js');
const { createEngine } = await dist('runtime/engine.js');
const { OutboxWorker } = await dist('runtime/outbox/worker.js');
const { captureTransport, smtpTransport } = await dist('runtime/outbox/transports.js');
const { webPushTransport } = await dist('runtime/outbox/push-transport.js');
const { loadOrCreateVapidKeys } = await dist('project/keys.js');
const { systemResolver } = await dist('runtime/fetch-guard/guard.js');

const WORK = join(ROOT, 'bench', '.work', 'outbox');
const percentile = (values, p) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(p * values.length))];

function createApp() {
  createBenchApp(WORK, 'bench-outbox', {
    'schema.ts': `import { defineSchema, defineTable, v } from './_generated/valet/api';
export default defineSchema({ orders: defineTable({ n: v.number() }), ticks: defineTable({ lag: v.number() }) });
`,
    'orders.ts': `import { defineMutation, v } from './_generated/valet/api';
export const place = defineMutation({ args: { n: v.number() }, access: 'public', handler: async (ctx, args) => ctx.db.insert('orders', { n: args.n }) });
export const placeAndMail = defineMutation({
  args: { n: v.number() },
  access: 'public',
  handler: async (ctx, args) => {
    const id = await ctx.db.insert('orders', { n: args.n });
    await ctx.email.enqueue({ to: 'buyer@example.com', subject: 'Order ' + args.n, text: 'Thanks for order ' + args.n, deliveryKey: 'order-' + args.n });
    return id;
  },
});
const subscription = v.object({ endpoint: v.string(), keys: v.object({ p256dh: v.string(), auth: v.string() }) });
export const subscribe = defineMutation({ args: { subscription, userId: v.string() }, access: 'public', handler: async (ctx, args) => ctx.push.subscribe(args.subscription, { userId: args.userId }) });
export const placeAndPush = defineMutation({
  args: { n: v.number() },
  access: 'public',
  handler: async (ctx, args) => {
    const id = await ctx.db.insert('orders', { n: args.n });
    await ctx.push.enqueue({ userId: 'buyer', notification: { title: 'Order ' + args.n, body: 'Thanks for order ' + args.n }, deliveryKey: 'order-' + args.n });
    return id;
  },
});
export const pushMany = defineMutation({
  args: { from: v.number(), count: v.number() },
  access: 'public',
  handler: async (ctx, args) => {
    for (let i = args.from; i < args.from + args.count; i++) await ctx.push.enqueue({ userId: 'reader', notification: { title: 'Push ' + i, body: 'Body ' + i }, deliveryKey: 'push-' + i });
  },
});
export const mailMany = defineMutation({
  args: { from: v.number(), count: v.number() },
  access: 'public',
  handler: async (ctx, args) => {
    for (let i = args.from; i < args.from + args.count; i++) await ctx.email.enqueue({ to: 'reader@example.com', subject: 'Mail ' + i, text: 'Body ' + i, deliveryKey: 'mail-' + i });
  },
});
export const tick = defineMutation({
  access: 'system',
  handler: async (ctx) => {
    const scheduledAt = ctx.invoker.type === 'system' ? ctx.invoker.scheduledAt ?? Date.now() : Date.now();
    await ctx.db.insert('ticks', { lag: Date.now() - scheduledAt });
  },
});
`,
  });
  runCodegen(WORK);
}

async function engineWith(dbName, options = {}) {
  const modules = await buildAndLoad(WORK);
  return createEngine({
    modules,
    database: join(WORK, '.valet', dbName),
    env: {},
    log: () => undefined,
    allowInsecurePushEndpoints: true,
    ...options,
  });
}

/** A browser's subscription: a real P-256 key and auth secret, on `endpoint`. */
function browserSubscription(endpoint) {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  return {
    endpoint,
    keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth: randomBytes(16).toString('base64url') },
  };
}

const call = (engine, kind, path, args) =>
  engine.call({ kind, path, args, invoker: { type: 'anonymous' }, external: true });

console.log(`bench/outbox on ${machine()}, load average ${loadAverage()}\n`);
createApp();

// 1. Enqueue overhead: alternate rounds of each so drift hits both alike.
{
  const engine = await engineWith('enqueue.db');
  await call(engine, 'mutation', 'orders:subscribe', {
    subscription: browserSubscription('https://push.example/send/buyer'),
    userId: 'buyer',
  });
  const ROUNDS = 15;
  const PER_ROUND = 300;
  const timings = { place: [], placeAndMail: [], placeAndPush: [] };
  let n = 0;
  for (let round = 0; round < ROUNDS + 2; round++) {
    for (const path of ['place', 'placeAndMail', 'placeAndPush']) {
      const started = performance.now();
      for (let i = 0; i < PER_ROUND; i++) await call(engine, 'mutation', `orders:${path}`, { n: n++ });
      if (round >= 2) timings[path].push(((performance.now() - started) / PER_ROUND) * 1000);
    }
  }
  await engine.close();
  // What SQLite itself charges for the second row: the same two inserts with better-sqlite3 directly.
  const Database = (await import('better-sqlite3')).default;
  const raw = new Database(join(WORK, '.valet', 'raw.db'));
  raw.pragma('journal_mode = WAL');
  raw.pragma('synchronous = NORMAL');
  raw.exec(
    'CREATE TABLE docs (id TEXT PRIMARY KEY, tbl TEXT, ct REAL, doc TEXT); CREATE INDEX docs_by_tbl ON docs (tbl, ct, id);',
  );
  raw.exec(
    'CREATE TABLE outbox (id TEXT PRIMARY KEY, key TEXT UNIQUE, recipients TEXT, subject TEXT, text TEXT, status TEXT, next REAL); CREATE INDEX outbox_due ON outbox (status, next);',
  );
  const { randomBytes } = await import('node:crypto');
  const insertDoc = raw.prepare('INSERT INTO docs VALUES (?, ?, ?, ?)');
  const insertMail = raw.prepare('INSERT INTO outbox VALUES (?, ?, ?, ?, ?, ?, ?)');
  const rawTimings = { one: [], two: [] };
  let k = 0;
  for (let round = 0; round < ROUNDS + 2; round++) {
    for (const kind of ['one', 'two']) {
      const started = performance.now();
      for (let i = 0; i < PER_ROUND; i++) {
        raw
          .transaction(() => {
            insertDoc.run(randomBytes(16).toString('hex'), 'orders', Date.now(), '{"n":1}');
            if (kind === 'two')
              insertMail.run(
                randomBytes(16).toString('hex'),
                `key-${k++}`,
                '["buyer@example.com"]',
                'Order',
                'Thanks',
                'queued',
                Date.now(),
              );
          })
          .immediate();
      }
      if (round >= 2) rawTimings[kind].push(((performance.now() - started) / PER_ROUND) * 1000);
    }
  }
  raw.close();
  const rawOne = percentile(rawTimings.one, 0.5);
  const rawTwo = percentile(rawTimings.two, 0.5);
  const without = percentile(timings.place, 0.5);
  const withMail = percentile(timings.placeAndMail, 0.5);
  const withPush = percentile(timings.placeAndPush, 0.5);
  console.log('Enqueue overhead (sequential in-process calls, median of per-round means)');
  console.log(
    `  baseline: mutation, one insert            ${without.toFixed(1)} µs/call   (rounds ${Math.min(...timings.place).toFixed(1)}–${Math.max(...timings.place).toFixed(1)})`,
  );
  console.log(
    `  mutation, one insert + one enqueue        ${withMail.toFixed(1)} µs/call   (rounds ${Math.min(...timings.placeAndMail).toFixed(1)}–${Math.max(...timings.placeAndMail).toFixed(1)})`,
  );
  console.log(
    `  overhead: ${(((withMail - without) / without) * 100).toFixed(1)} %   target ≤ 10 % — ${withMail <= without * 1.1 ? 'met' : 'MISSED'}`,
  );
  console.log(
    `  mutation, one insert + one push enqueue   ${withPush.toFixed(1)} µs/call   (rounds ${Math.min(...timings.placeAndPush).toFixed(1)}–${Math.max(...timings.placeAndPush).toFixed(1)})`,
  );
  console.log(
    `  overhead: ${(((withPush - without) / without) * 100).toFixed(1)} % (beside email's ${(((withMail - without) / without) * 100).toFixed(1)} %; it also reads the user's subscriptions)`,
  );
  console.log(
    `  for scale, better-sqlite3 alone: one indexed row ${rawOne.toFixed(1)} µs, plus an indexed outbox row in the same transaction ${rawTwo.toFixed(1)} µs (+${(((rawTwo - rawOne) / rawOne) * 100).toFixed(0)} %)\n`,
  );
}

// 2. Delivery throughput.
const sink = fork(join(ROOT, 'bench', '_smtp-sink.js'), [], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
const port = await new Promise((resolve) => sink.stdout.once('data', (chunk) => resolve(Number(String(chunk).trim()))));
const smtpUrl = `smtp://127.0.0.1:${port}`;
try {
  const deliver = async (label, transport, count) => {
    const engine = await engineWith(`${label}.db`);
    for (let from = 0; from < count; from += 1000)
      await call(engine, 'mutation', 'orders:mailMany', { from, count: Math.min(1000, count - from) });
    const worker = new OutboxWorker({
      connections: engine.connections,
      transport,
      clock: { now: Date.now, setTimeout, clearTimeout },
      batchSize: 200,
      concurrency: 20,
    });
    const started = performance.now();
    const result = await worker.drain();
    const seconds = (performance.now() - started) / 1000;
    await transport.close();
    await engine.close();
    if (result.sent !== count) throw new Error(`${label}: sent ${result.sent} of ${count}`);
    return count / seconds;
  };

  const SMTP_COUNT = 2000;
  // Baseline: the same transport (pooled nodemailer, no Nagle delay) fed directly, no outbox.
  const direct = await smtpTransport({ url: smtpUrl, from: 'Valet <valet@example.com>' });
  const directStarted = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 20 }, async () => {
      while (next < SMTP_COUNT) {
        const i = next++;
        await direct.send({
          id: `d${i}`,
          to: ['reader@example.com'],
          subject: `Mail ${i}`,
          text: `Body ${i}`,
          html: null,
          deliveryKey: `direct-${i}`,
        });
      }
    }),
  );
  const directRate = SMTP_COUNT / ((performance.now() - directStarted) / 1000);
  await direct.close();

  const smtpRate = await deliver(
    'smtp',
    await smtpTransport({ url: smtpUrl, from: 'Valet <valet@example.com>' }),
    SMTP_COUNT,
  );
  const captureRate = await deliver(
    'capture',
    captureTransport(() => undefined),
    20_000,
  );
  console.log('Delivery throughput (outbox worker: claim with lease, send, record; batches of 200, 20 in flight)');
  console.log(
    `  baseline: the SMTP transport fed directly ${directRate.toFixed(0)} emails/s (pool of 5 connections, ${SMTP_COUNT} emails, no outbox)`,
  );
  console.log(
    `  outbox → SMTP (pool of 5)                 ${smtpRate.toFixed(0)} emails/s (${((smtpRate / directRate) * 100).toFixed(0)} % of baseline)   target ≥ 300/s — ${smtpRate >= 300 ? 'met' : 'MISSED'}`,
  );
  console.log(
    `  outbox → capture                          ${captureRate.toFixed(0)} emails/s (20000 emails)   target ≥ 3000/s — ${captureRate >= 3000 ? 'met' : 'MISSED'}\n`,
  );
} finally {
  sink.kill();
}

// 3. Push delivery throughput to a local push service.
{
  const sink = fork(join(ROOT, 'bench', '_push-sink.js'), [], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  const port = await new Promise((resolve) =>
    sink.stdout.once('data', (chunk) => resolve(Number(String(chunk).trim()))),
  );
  const endpoint = `http://127.0.0.1:${port}/send/reader`;
  const vapid = { ...loadOrCreateVapidKeys(WORK), subject: 'mailto:bench@example.com' };
  const COUNT = 2000;
  const CONCURRENCY = 20;
  try {
    // Baseline: what web-push's sendNotification does (VAPID JWT, RFC 8291 encryption, a POST) fed
    // directly, over a keep-alive pool of plain HTTP — sendNotification itself only speaks https.
    const webpush = (await import('web-push')).default;
    const { Pool } = await import('undici');
    const pool = new Pool(`http://127.0.0.1:${port}`, { connections: CONCURRENCY });
    const subscription = browserSubscription(endpoint);
    const directStarted = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < COUNT) {
          const i = next++;
          const details = webpush.generateRequestDetails(
            subscription,
            JSON.stringify({ title: `Push ${i}`, body: `Body ${i}` }),
            { vapidDetails: vapid, TTL: 86400, contentEncoding: 'aes128gcm' },
          );
          const response = await pool.request({
            path: '/send/reader',
            method: 'POST',
            headers: details.headers,
            body: details.body,
          });
          await response.body.text();
          if (response.statusCode !== 201) throw new Error(`push sink answered ${response.statusCode}`);
        }
      }),
    );
    const directRate = COUNT / ((performance.now() - directStarted) / 1000);
    await pool.close();

    const engine = await engineWith('push.db');
    await call(engine, 'mutation', 'orders:subscribe', { subscription, userId: 'reader' });
    for (let from = 0; from < COUNT; from += 1000)
      await call(engine, 'mutation', 'orders:pushMany', { from, count: Math.min(1000, COUNT - from) });
    const pushTransport = webPushTransport({ vapid, policy: { allowLoopback: true, resolve: systemResolver } });
    const worker = new OutboxWorker({
      connections: engine.connections,
      transport: captureTransport(() => undefined),
      pushTransport,
      clock: { now: Date.now, setTimeout, clearTimeout },
      batchSize: 200,
      concurrency: CONCURRENCY,
    });
    const started = performance.now();
    const result = await worker.drain();
    const rate = COUNT / ((performance.now() - started) / 1000);
    await engine.close();
    if (result.sent !== COUNT) throw new Error(`push: sent ${result.sent} of ${COUNT}`);
    console.log(
      `Push delivery throughput (${COUNT} pushes to one local push service; batches of 200, ${CONCURRENCY} in flight)`,
    );
    console.log(
      `  baseline: web-push's request fed directly  ${directRate.toFixed(0)} pushes/s (VAPID + aes128gcm + POST, no outbox)`,
    );
    console.log(
      `  outbox → web-push                          ${rate.toFixed(0)} pushes/s (${((rate / directRate) * 100).toFixed(0)} % of baseline)   target ≥ 300/s — ${rate >= 300 ? 'met' : 'MISSED'}\n`,
    );
  } finally {
    sink.kill();
  }
}

// 4. Cron dispatch lag: a job every 50 ms for 10 s, handler start minus its scheduled tick.
{
  writeFileSync(
    join(WORK, 'valet', 'crons.ts'),
    `import { api, cronJobs } from './_generated/valet/api';
export default cronJobs().interval('lag', { seconds: 0.05 }, api.orders.tick, {});
`,
  );
  runCodegen(WORK);
  const engine = await engineWith('cron.db', { background: true });
  const timerLags = [];
  const baseline = new Promise((resolve) => {
    let count = 0;
    const schedule = () => {
      const due = Date.now() + 50;
      setTimeout(() => {
        timerLags.push(Date.now() - due);
        if (++count < 200) schedule();
        else resolve();
      }, 50);
    };
    schedule();
  });
  await baseline;
  const lags = (
    await engine.connections.autoCommit.sql.all("SELECT doc FROM _valet_documents WHERE tbl = 'ticks'")
  ).map((row) => JSON.parse(row.doc).lag);
  await engine.close();
  console.log(`Cron dispatch lag (${lags.length} ticks of a 50 ms interval job over 10 s; tick → handler start)`);
  console.log(
    `  baseline: setTimeout lag, same process     p50 ${percentile(timerLags, 0.5)} ms   p99 ${percentile(timerLags, 0.99)} ms`,
  );
  console.log(
    `  cron dispatch                              p50 ${percentile(lags, 0.5)} ms   p99 ${percentile(lags, 0.99)} ms   max ${Math.max(...lags)} ms   target p99 ≤ 50 ms — ${percentile(lags, 0.99) <= 50 ? 'met' : 'MISSED'}`,
  );
}
if (!process.env.BENCH_KEEP) rmSync(WORK, { recursive: true, force: true });
