// Three `valet start` processes on one PostgreSQL database (real processes, a real SMTP server,
// loopback only): email delivered exactly once while all live, and after one is killed only its
// own in-flight messages may repeat; scheduled calls and cron ticks once each; transfers made
// through all three conserve money.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTempDirs } from '../helpers/apps.js';
import { call, scaleApp, startInstance, value, waitUntil } from '../helpers/instances.js';
import type { Instance } from '../helpers/instances.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { killAll } from '../helpers/processes.js';
import { startSmtpServer } from '../helpers/smtp.js';
import type { TestSmtpServer } from '../helpers/smtp.js';

let database: { url: string; drop(): Promise<void> };
let smtp: TestSmtpServer;
let instances: Instance[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  smtp = await startSmtpServer();
  const app = scaleApp();
  const env = {
    VALET_DATABASE_URL: database.url,
    VALET_SMTP_URL: smtp.url,
    VALET_OUTBOX_LEASE_MS: '3000',
    // A TTL that a loaded two-core machine's pauses stay well inside: 300 concurrent transfers
    // must not make a busy instance look dead (its work would be taken over, and fenced off).
    VALET_HEARTBEAT_MS: '500',
    VALET_INSTANCE_TTL_MS: '5000',
  };
  // All at once: one migrates under the advisory lock while the others wait for it.
  instances = await Promise.all([0, 1, 2].map(() => startInstance(app, env)));
}, 120_000);

afterAll(async () => {
  await Promise.all(instances.map((instance) => instance.process.stop('SIGINT')));
  killAll();
  await smtp?.close();
  await database?.drop();
  removeTempDirs();
});

const keysOf = (prefix: string) =>
  smtp.received.map((m) => m.deliveryKey).filter((key): key is string => Boolean(key?.startsWith(prefix)));

/** Waits until no row of `tableWhere` (a table and its condition) is left: work that is done. */
async function untilNone(tableWhere: string, what: string): Promise<void> {
  const left = async () => (await sql<{ n: number }>(`SELECT COUNT(*)::int AS n FROM ${tableWhere}`))[0]!.n;
  await waitUntil(async () => (await left()) === 0, 60_000, what);
}

async function sql<T>(text: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    return (await client.query(text, params)).rows as T[];
  } finally {
    await client.end();
  }
}

describe('three instances on one database', () => {
  it('all three started together, and registered themselves', async () => {
    const rows = await sql<{ pid: number }>('SELECT pid FROM _valet_instances');
    expect(rows.map((r) => r.pid).sort()).toEqual(instances.map((i) => i.pid).sort());
  });

  it('deliver 1000 emails enqueued through all three exactly once', async () => {
    await Promise.all(
      instances.map((instance, i) =>
        value(instance.url, 'mutation', 'jobs:mailMany', { prefix: `all-${i}`, count: i === 0 ? 334 : 333 }),
      ),
    );
    await waitUntil(() => new Set(keysOf('all-')).size === 1000, 60_000, '1000 delivery keys');
    // Every row marked sent: no instance holds one it could still send again.
    await untilNone("_valet_outbox WHERE delivery_key LIKE 'all-%' AND status <> 'sent'", 'every row marked sent');
    expect(keysOf('all-')).toHaveLength(1000);
    const senders = await sql<{ instance: string; n: number }>(
      "SELECT instance, COUNT(*)::int AS n FROM _valet_outbox WHERE delivery_key LIKE 'all-%' GROUP BY instance",
    );
    expect(senders.reduce((n, row) => n + row.n, 0)).toBe(1000);
  });

  it('run 500 scheduled calls once each', async () => {
    await value(instances[1]!.url, 'mutation', 'jobs:scheduleMany', { prefix: 'sched', count: 500 });
    const scheduledTicks = async () =>
      ((await value(instances[2]!.url, 'query', 'jobs:ticks')) as { job: string }[]).filter((t) =>
        t.job.startsWith('sched-'),
      );
    await waitUntil(async () => (await scheduledTicks()).length >= 500, 60_000, '500 scheduled ticks');
    // Every call marked done: none is claimed by an instance that could still run it again.
    await untilNone(
      "_valet_scheduled WHERE status <> 'done' AND args LIKE '%sched-%'",
      'every scheduled call marked done',
    );
    const ticks = await scheduledTicks();
    expect(ticks).toHaveLength(500);
    expect(new Set(ticks.map((t) => t.job)).size).toBe(500);
    const runners = await sql<{ instance: string }>(
      "SELECT DISTINCT instance FROM _valet_scheduled WHERE status = 'done'",
    );
    expect(runners.length).toBeGreaterThanOrEqual(1);
  });

  it('run each tick of a one-second cron once over ten seconds', async () => {
    const everySecond = async () =>
      (
        (await value(instances[0]!.url, 'query', 'jobs:ticks')) as { job: string; invoker: { scheduledAt: number } }[]
      ).filter((t) => t.job === 'every-second');
    const first = (await everySecond()).length;
    await waitUntil(async () => (await everySecond()).length >= first + 10, 30_000, 'ten more ticks');
    const ticks = (await everySecond()).map((t) => t.invoker.scheduledAt).sort((a, b) => a - b);
    expect(new Set(ticks).size).toBe(ticks.length);
    // Consecutive ticks, none run twice and none skipped while the three instances lived.
    for (let i = 1; i < ticks.length; i++) expect(ticks[i]! - ticks[i - 1]!).toBe(1000);
    const runs = await sql<{ n: number; ticks: number }>(
      "SELECT COUNT(*)::int AS n, COUNT(DISTINCT scheduled_at)::int AS ticks FROM _valet_cron_runs WHERE job = 'every-second'",
    );
    expect(runs[0]!.n).toBe(runs[0]!.ticks);
  });

  it('conserve money across interleaved transfers made through all three', async () => {
    const accounts: string[] = [];
    for (let i = 0; i < 10; i++)
      accounts.push(
        await value(instances[i % 3]!.url, 'mutation', 'bank:open', { owner: `scale-${i}`, balance: 1000 }),
      );
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const transfers = Array.from({ length: 300 }, (_, i) => {
      const from = random(10);
      const args = { from: accounts[from]!, to: accounts[(from + 1 + random(9)) % 10]!, amount: 1 + random(300) };
      const url = instances[i % 3]!.url;
      return i % 2 === 0
        ? call(url, 'mutation', 'bank:transfer', args)
        : call(url, 'action', 'bank:transferInAction', args);
    });
    const results = await Promise.all(transfers);
    expect(results.filter((r) => r.status !== 200)).toEqual([]);
    for (const instance of instances)
      expect(await value(instance.url, 'query', 'bank:total')).toEqual({ first: 10_000, second: 10_000 });
  });

  it("after one is killed mid-delivery, deliver every email at least once, repeating only the killed one's in-flight messages", async () => {
    smtp.delayMs = 15;
    await value(instances[0]!.url, 'mutation', 'jobs:mailMany', { prefix: 'kill', count: 500 });
    await waitUntil(() => keysOf('kill-').length >= 60, 30_000, 'the first deliveries');
    const victim = instances[2]!;
    const [row] = await sql<{ id: string }>('SELECT id FROM _valet_instances WHERE pid = $1', [victim.pid]);
    victim.process.child.kill('SIGKILL');
    await victim.process.exited;
    // What the killed instance held when it died: only these may be sent twice.
    const held = new Set(
      (
        await sql<{ delivery_key: string }>(
          "SELECT delivery_key FROM _valet_outbox WHERE status = 'sending' AND instance = $1",
          [row!.id],
        )
      ).map((r) => r.delivery_key),
    );
    instances = instances.slice(0, 2);
    await waitUntil(() => new Set(keysOf('kill-')).size === 500, 60_000, 'all 500 delivery keys');
    await untilNone("_valet_outbox WHERE delivery_key LIKE 'kill-%' AND status <> 'sent'", 'every row marked sent');
    const counts = new Map<string, number>();
    for (const key of keysOf('kill-')) counts.set(key, (counts.get(key) ?? 0) + 1);
    const repeated = [...counts].filter(([, n]) => n > 1).map(([key]) => key);
    for (const key of repeated)
      expect(held.has(key), `${key} was sent twice without being held by the killed instance`).toBe(true);
    expect(counts.size).toBe(500);
    // The survivors noticed: the killed instance's row is gone once its heartbeat aged past the TTL.
    await waitUntil(
      async () => (await sql('SELECT 1 FROM _valet_instances WHERE id = $1', [row!.id])).length === 0,
      10_000,
      'the dead instance to be reaped',
    );
  });
});
