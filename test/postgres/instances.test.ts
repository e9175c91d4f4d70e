// Several engines on one PostgreSQL database, in one process (the real-process version with
// SIGKILL and SIGTERM is test/scale/): live queries across instances, shared idempotency, work
// taken over only from a dead instance, each scheduled call and each cron tick run once, email
// delivered once.
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { afterAll, describe, expect, it } from 'vitest';
import { ValetClient } from '../../src/client/index.js';
import { buildAndLoad } from '../../src/bundler/evaluate.js';
import { DATABASE_TIME_SQL } from '../../src/runtime/claims/database-clock.js';
import { encodeNotice } from '../../src/runtime/connections/postgres-changes.js';
import { createEngine } from '../../src/runtime/engine.js';
import type { Engine, EngineOptions } from '../../src/runtime/engine.js';
import { listInvocations } from '../../src/runtime/invocations/store.js';
import type { OutgoingEmail } from '../../src/runtime/outbox/transports.js';
import { functionRef } from '../../src/server/index.js';
import { removeTempDirs } from '../helpers/apps.js';
import { testDatabase } from '../helpers/database.js';
import { engineFor, ManualClock } from '../helpers/engine.js';
import { serveFixture } from '../helpers/sync-server.js';

afterAll(removeTempDirs);

const engines: Engine[] = [];
afterAll(async () => {
  for (const engine of engines) await engine.close().catch(() => undefined);
});

/** Another instance of the first engine's app, on the same database. */
async function sibling(app: string, options: Partial<EngineOptions> = {}): Promise<Engine> {
  const engine = await createEngine({
    modules: await buildAndLoad(app),
    ...testDatabase(join(app, '.valet')),
    env: {},
    log: () => undefined,
    ...options,
  });
  engines.push(engine);
  return engine;
}

const call = (engine: Engine, kind: 'query' | 'mutation' | 'action', path: string, args: object = {}, key?: string) =>
  engine.call({ kind, path, args, invoker: { type: 'anonymous' }, external: true, idempotencyKey: key ?? null });

describe('live queries across instances', async () => {
  const served = await serveFixture('engine-app');
  afterAll(() => served.stop());
  const writer = await sibling(served.app);
  const client = new ValetClient(served.url, { WebSocket: WebSocket as never });
  afterAll(() => client.close());

  it('a write on one instance reaches a subscriber on another', async () => {
    const seen: string[][] = [];
    client.subscribe(functionRef('users:emails', 'query', { access: 'public' }) as never, {} as never, (value) =>
      seen.push(value as string[]),
    );
    await expect.poll(() => seen.length).toBeGreaterThan(0);
    expect((await call(writer, 'mutation', 'users:create', { email: 'across@example.com' })).status).toBe(200);
    await expect.poll(() => seen.at(-1)).toContain('across@example.com');
  });

  it('catches up with a burst of writes on another instance (notices arriving while a re-run is in flight)', async () => {
    const seen: string[][] = [];
    client.subscribe(functionRef('users:emails', 'query', { access: 'public' }) as never, {} as never, (value) =>
      seen.push(value as string[]),
    );
    await expect.poll(() => seen.length).toBeGreaterThan(0);
    for (let i = 0; i < 40; i++) await call(writer, 'mutation', 'users:create', { email: `burst-${i}@example.com` });
    await expect.poll(() => seen.at(-1), { timeout: 30_000 }).toContain('burst-39@example.com');
  });

  it('a batch too large for one notice still arrives, shortened', async () => {
    const seen: unknown[] = [];
    client.subscribe(functionRef('jobs:ticks', 'query', { access: 'public' }) as never, {} as never, (value) =>
      seen.push(value),
    );
    await expect.poll(() => seen.length).toBeGreaterThan(0);
    const many = Array.from({ length: 400 }, (_, i) => ({
      table: 'users',
      id: `id-${i}`.padEnd(30, 'x'),
      before: null,
      after: { _id: `x${i}`, _creationTime: i, email: `user-${i}@example.com` },
    }));
    expect(Buffer.byteLength(encodeNotice('o', many as never, null))).toBeLessThanOrEqual(7800);
    expect(JSON.parse(encodeNotice('o', many as never, null))).toEqual({ o: 'o', t: ['users'] });
    const before = seen.length;
    expect((await call(writer, 'mutation', 'jobs:insertTicks', { count: 300 })).status).toBe(200);
    await expect.poll(() => seen.length).toBeGreaterThan(before);
  });
});

describe('work shared between instances', async () => {
  // Heartbeats every 50 ms, dead after 400 ms without one: the same on every instance, as in production.
  const instances = { heartbeatMs: 50, ttlMs: 400 };
  const first = await engineFor('engine-app', { instances });
  engines.push(first.engine);
  const second = await sibling(first.app, { background: true, instances });

  it('shares idempotency keys: a duplicate on another instance while the first runs gets 409', async () => {
    const running = call(first.engine, 'action', 'faults:waitForRelease', { label: 'shared' }, 'shared-key');
    await expect
      .poll(async () =>
        (await listInvocations(second.connections.autoCommit.sql, { function: 'faults:waitForRelease' })).some(
          (i) => i.idempotencyKey === 'shared-key',
        ),
      )
      .toBe(true);
    expect(await call(second, 'action', 'faults:waitForRelease', { label: 'shared' }, 'shared-key')).toMatchObject({
      status: 409,
      body: { code: 'idempotency_in_flight' },
    });
    // A live instance's work is never taken over, however long it runs: wait until, by the
    // database's clock, it has run for more than twice the TTL (the other instance sweeps for dead
    // work on every heartbeat, so it has looked many times by then).
    const [invocation] = await listInvocations(second.connections.autoCommit.sql, {
      function: 'faults:waitForRelease',
    });
    await expect
      .poll(
        async () =>
          (await second.connections.autoCommit.sql.get<{ now: number }>(DATABASE_TIME_SQL))!.now -
          Date.parse(invocation!.startedAt),
        { timeout: 30_000, interval: 25 },
      )
      .toBeGreaterThan(2 * instances.ttlMs);
    expect(await call(second, 'action', 'faults:waitForRelease', { label: 'shared' }, 'shared-key')).toMatchObject({
      status: 409,
    });
    await call(first.engine, 'action', 'faults:releaseAll');
    expect((await running).status).toBe(200);
    expect(
      (await call(second, 'action', 'faults:waitForRelease', { label: 'shared' }, 'shared-key')).headers[
        'idempotent-replayed'
      ],
    ).toBe('true');
  });

  it("takes over a dead instance's running invocation once its heartbeat is older than the TTL", async () => {
    const third = await sibling(first.app, { instances });
    const running = call(third, 'action', 'faults:waitForRelease', { label: 'orphan' }, 'orphan-key');
    await expect
      .poll(async () => (await listInvocations(second.connections.autoCommit.sql, { status: 'running' })).length)
      .toBe(1);
    await third.instance!.stopHeartbeat();
    await expect
      .poll(
        async () =>
          (
            await listInvocations(second.connections.autoCommit.sql, {
              function: 'faults:waitForRelease',
              status: 'interrupted',
            })
          ).length,
        { timeout: 30_000 },
      )
      .toBe(1);
    expect(await call(second, 'action', 'faults:waitForRelease', { label: 'orphan' }, 'orphan-key')).toMatchObject({
      status: 500,
      body: { code: 'interrupted' },
    });
    await call(third, 'action', 'faults:releaseAll');
    await running;
  });
});

describe('background work on three instances', async () => {
  const clock = new ManualClock();
  const sent: OutgoingEmail[] = [];
  const transport = {
    name: 'count',
    send: async (email: OutgoingEmail) => void sent.push(email),
    close: async () => undefined,
  };
  const first = await engineFor('engine-app', { clock, emailTransport: transport });
  engines.push(first.engine);
  const others = [
    await sibling(first.app, { clock, emailTransport: transport }),
    await sibling(first.app, { clock, emailTransport: transport }),
  ];
  const all = [first.engine, ...others];

  it('delivers each email once, whichever instance claims it', async () => {
    await call(first.engine, 'mutation', 'jobs:mailMany', { prefix: 'spread', count: 300 });
    for (let round = 0; round < 20 && sent.length < 300; round++)
      await Promise.all(all.map((engine) => engine.outbox.drain()));
    expect(sent).toHaveLength(300);
    expect(new Set(sent.map((email) => email.deliveryKey)).size).toBe(300);
  });

  it('runs each scheduled call once', async () => {
    await call(first.engine, 'mutation', 'jobs:scheduleMany', { prefix: 'once', count: 200 });
    // A call whose transaction kept conflicting with the others' (serializable, three instances at
    // once) goes back to pending for a second later: time moves on between rounds, as it would.
    for (let round = 0; round < 20; round++) {
      await Promise.all(all.map((engine) => engine.scheduled.round()));
      clock.advance(1_000);
    }
    const ticks = ((await call(first.engine, 'query', 'jobs:ticks')).body as { value: { job: string }[] }).value.filter(
      (t) => t.job.startsWith('once-'),
    );
    expect(ticks).toHaveLength(200);
    expect(new Set(ticks.map((t) => t.job)).size).toBe(200);
  });

  it('runs each cron tick once', async () => {
    await Promise.all(all.map((engine) => engine.crons.round()));
    for (let minute = 0; minute < 5; minute++) {
      clock.advance(60_000);
      await Promise.all(all.map((engine) => engine.crons.round()));
      await Promise.all(all.map((engine) => engine.crons.settle()));
    }
    const ticks = (
      (await call(first.engine, 'query', 'jobs:ticks')).body as {
        value: { job: string; invoker: { scheduledAt: number } }[];
      }
    ).value.filter((t) => t.job === 'every-minute');
    expect(ticks).toHaveLength(5);
    expect(new Set(ticks.map((t) => t.invoker.scheduledAt)).size).toBe(5);
  });
});
