// What holds on a bad day (SPEC §13), with the fault injected at the exact statement: a blip at an
// action's final status write, a database down longer than the caller waits, a transient failure
// before and after a write committed, a blip at a scheduled mutation's done mark, a scheduled
// action whose claim was taken over while it paused, and slow scheduled work beside fast.
import { afterAll, describe, expect, it } from 'vitest';
import { listCronRuns } from '../../src/runtime/cron/runs.js';
import { reapDeadInstances } from '../../src/runtime/instances.js';
import { getInvocation, listInvocations } from '../../src/runtime/invocations/store.js';
import { listScheduled } from '../../src/runtime/scheduler/store.js';
import { removeTempDirs } from '../helpers/apps.js';
import { countDocuments } from '../helpers/database.js';
import { engineFor, ManualClock } from '../helpers/engine.js';

afterAll(removeTempDirs);

const FINISH = /UPDATE _valet_action_invocations SET status = \?/;

describe("an action's outcome", async () => {
  const { call, engine } = await engineFor('engine-app');
  afterAll(() => engine.close());
  const runs = (label: string) => countDocuments(engine, 'runs', { label });

  it('is recorded through blips at its status write, and the caller hears the truth', async () => {
    engine.connections.faults.failNext(FINISH, { times: 3 });
    const first = await call('action', 'claims:writeOnce', { label: 'blip' }, { key: 'k-blip' });
    expect(first).toMatchObject({ status: 200, body: { value: 'wrote blip' } });
    expect(engine.connections.faults.fired).toBe(3);
    const replay = await call('action', 'claims:writeOnce', { label: 'blip' }, { key: 'k-blip' });
    expect(replay).toMatchObject({
      status: 200,
      body: { value: 'wrote blip' },
      headers: { 'idempotent-replayed': 'true' },
    });
    expect(await runs('blip')).toBe(1);
    expect(await getInvocation(engine.connections.autoCommit.sql, first.headers['valet-invocation-id']!)).toMatchObject(
      { status: 'succeeded', attempts: 1 },
    );
  });

  it('is outcome_unknown (never "not applied") while the database stays down, and the key tells the truth once it is back', async () => {
    engine.connections.faults.failNext(FINISH, { times: Number.MAX_SAFE_INTEGER });
    const first = await call('action', 'claims:writeOnce', { label: 'down' }, { key: 'k-down' });
    expect(first).toMatchObject({
      status: 503,
      body: { code: 'outcome_unknown', data: { invocationId: expect.any(String) } },
    });
    expect((first.body as { message: string }).message).toContain('retry with the same Idempotency-Key');
    // The write did commit: saying "not applied" would have been a lie.
    expect(await runs('down')).toBe(1);
    expect(await call('action', 'claims:writeOnce', { label: 'down' }, { key: 'k-down' })).toMatchObject({
      status: 409,
      body: { code: 'idempotency_in_flight' },
    });
    engine.connections.faults.clear();
    await expect
      .poll(async () => (await call('action', 'claims:writeOnce', { label: 'down' }, { key: 'k-down' })).status, {
        timeout: 10_000,
        interval: 50,
      })
      .toBe(200);
    expect(await call('action', 'claims:writeOnce', { label: 'down' }, { key: 'k-down' })).toMatchObject({
      body: { value: 'wrote down' },
      headers: { 'idempotent-replayed': 'true' },
    });
    expect(await runs('down')).toBe(1);
  });

  it('frees the key after a transient failure before anything committed: a retry runs it', async () => {
    engine.connections.faults.failNext('INSERT INTO _valet_documents');
    const first = await call('action', 'claims:writeOnce', { label: 'freed' }, { key: 'k-freed' });
    expect(first).toMatchObject({ status: 503, body: { code: 'storage_unavailable' } });
    expect(await runs('freed')).toBe(0);
    const retry = await call('action', 'claims:writeOnce', { label: 'freed' }, { key: 'k-freed' });
    expect(retry).toMatchObject({ status: 200, body: { value: 'wrote freed' } });
    expect(retry.headers['idempotent-replayed']).toBeUndefined();
    expect(await runs('freed')).toBe(1);
    // The failed attempt stays in the log, without the key.
    const records = await listInvocations(engine.connections.autoCommit.sql, { function: 'claims:writeOnce' });
    expect(
      records
        .filter((r) => r.args && (r.args as { label: string }).label === 'freed')
        .map((r) => [r.status, r.idempotencyKey]),
    ).toEqual(
      expect.arrayContaining([
        ['failed', null],
        ['succeeded', 'k-freed'],
      ]),
    );
  });

  it("fences many parallel writes of one action without making them wait on each other's claim check", async () => {
    expect(
      await call('action', 'claims:parallelWrites', { label: 'parallel', count: 40 }, { key: 'k-parallel' }),
    ).toMatchObject({ status: 200, body: { value: 40 } });
    const labels = ((await call('query', 'faults:labels')).body as { value: string[] }).value.filter((label) =>
      label.startsWith('parallel-'),
    );
    expect(labels.sort()).toEqual(Array.from({ length: 40 }, (_, i) => `parallel-${i}`).sort());
  });

  it('stores a transient failure after a write committed as storage_interrupted, and replays it', async () => {
    engine.connections.faults.failNext('INSERT INTO _valet_documents', { skip: 1 });
    const first = await call('action', 'claims:writeTwice', { label: 'half' }, { key: 'k-half' });
    expect(first).toMatchObject({
      status: 500,
      body: { code: 'storage_interrupted', message: expect.stringContaining('after some of its writes had committed') },
    });
    expect(await runs('half-1')).toBe(1);
    expect(await runs('half-2')).toBe(0);
    const replay = await call('action', 'claims:writeTwice', { label: 'half' }, { key: 'k-half' });
    expect(replay).toMatchObject({
      status: 500,
      body: { code: 'storage_interrupted' },
      headers: { 'idempotent-replayed': 'true' },
    });
    expect(await runs('half-1')).toBe(1);
  });
});

describe('a scheduled mutation', async () => {
  const clock = new ManualClock();
  const { value, engine } = await engineFor('engine-app', { clock });
  afterAll(() => engine.close());

  it('commits its writes and its done mark together: a blip at the mark leaves neither, and it runs once later', async () => {
    const id = await value('mutation', 'claims:scheduleNow', { target: 'tick', label: 'marked-once' });
    engine.connections.faults.failNext("UPDATE _valet_scheduled SET status = 'done'");
    await engine.scheduled.round();
    expect(engine.connections.faults.fired).toBe(1);
    expect(await countDocuments(engine, 'ticks')).toBe(0);
    expect((await listScheduled(engine.connections.autoCommit.sql)).find((row) => row.id === id)).toMatchObject({
      status: 'pending',
      attempts: 1,
    });
    clock.advance(1_000);
    await engine.scheduled.round();
    expect(await countDocuments(engine, 'ticks')).toBe(1);
    expect((await listScheduled(engine.connections.autoCommit.sql)).find((row) => row.id === id)).toMatchObject({
      status: 'done',
      attempts: 2,
    });
  });
});

describe('a cron tick', async () => {
  const clock = new ManualClock();
  const { engine } = await engineFor('engine-app', { clock });
  afterAll(() => engine.close());
  const everyMinute = async () =>
    (await listCronRuns(engine.connections.autoCommit.sql, { job: 'every-minute' })).reverse();

  it("commits a mutation's writes with the run's end: a blip there rolls both back, and the tick is tried again, once", async () => {
    await engine.crons.round();
    clock.advance(60_000);
    engine.connections.faults.failNext("UPDATE _valet_cron_runs SET status = 'succeeded'");
    await engine.crons.round();
    await expect.poll(() => engine.connections.faults.fired).toBe(1);
    // The retry waits on the injected clock: move it until the tick has landed.
    await expect
      .poll(async () => {
        clock.advance(500);
        return countDocuments(engine, 'ticks');
      })
      .toBe(1);
    await engine.crons.settle();
    expect((await everyMinute()).map((run) => run.status)).toEqual(['succeeded']);
    expect(await countDocuments(engine, 'ticks')).toBe(1);
  });
});

describe('a scheduled action whose claim was taken over while it paused', async () => {
  const { value, engine, logs } = await engineFor('engine-app');
  afterAll(async () => {
    await value('action', 'claims:releaseHeld');
    await engine.close();
  });
  const row = async (id: string) => (await listScheduled(engine.connections.autoCommit.sql)).find((r) => r.id === id);
  const heldRuns = async (target: string) =>
    (await listInvocations(engine.connections.autoCommit.sql, { function: `claims:${target}`, status: 'running' }))
      .length;

  /** What another instance does once this one's heartbeat is older than the TTL. */
  const takeOver = () =>
    engine.connections.inWriteTransaction((store) =>
      reapDeadInstances(store.sql, 'another-instance', Date.now(), 1, true),
    );

  for (const target of ['pausedWrite', 'pausedRunMutation']) {
    it(`cannot commit its writes (${target}) or mark the call done, and says so`, async () => {
      const label = `lost-${target}`;
      const id = await value('mutation', 'claims:scheduleNow', { target, label });
      const firstRound = engine.scheduled.round();
      await expect.poll(() => heldRuns(target)).toBe(1);
      const lostBefore = engine.lostClaims;
      expect((await takeOver()).scheduled).toBe(1);
      await value('action', 'claims:releaseHeld');
      await firstRound;
      expect(engine.lostClaims).toBeGreaterThan(lostBefore);
      expect(await countDocuments(engine, 'runs', { label })).toBe(0);
      expect(await row(id)).toMatchObject({ status: 'pending', attempts: 1 });
      expect(logs.join('\n')).toMatch(/another instance took it over/);
      // Claimed again (a new attempt), it runs once.
      const secondRound = engine.scheduled.round();
      await expect.poll(() => heldRuns(target)).toBe(1);
      await value('action', 'claims:releaseHeld');
      await secondRound;
      expect(await row(id)).toMatchObject({ status: 'done', attempts: 2 });
      expect(await countDocuments(engine, 'runs', { label })).toBe(1);
    });
  }
});

describe('scheduled work side by side', async () => {
  const { value, engine } = await engineFor('engine-app', { background: true });
  afterAll(async () => {
    await value('action', 'claims:releaseHeld');
    await engine.close();
  });

  it('runs a due mutation while a slow scheduled action is still running', async () => {
    await value('mutation', 'claims:scheduleNow', { target: 'pausedWrite', label: 'slow' });
    await expect
      .poll(
        async () =>
          (
            await listInvocations(engine.connections.autoCommit.sql, {
              function: 'claims:pausedWrite',
              status: 'running',
            })
          ).length,
      )
      .toBe(1);
    await value('mutation', 'claims:scheduleNow', { target: 'tick', label: 'fast' });
    await expect.poll(() => countDocuments(engine, 'ticks')).toBe(1);
    // The slow one is still held: it did not finish first.
    expect(await countDocuments(engine, 'runs', { label: 'slow' })).toBe(0);
    await value('action', 'claims:releaseHeld');
    await expect.poll(() => countDocuments(engine, 'runs', { label: 'slow' })).toBe(1);
  });
});
