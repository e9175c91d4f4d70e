// Actions as the seed page promises: idempotency keys, the invocation log, retry and retention
// policies, timeouts, and transactions.
import { afterAll, describe, expect, it } from 'vitest';
import { getInvocation, listInvocations } from '../../src/runtime/invocations/store.js';
import { removeTempDirs } from '../helpers/apps.js';
import type { Engine } from '../../src/runtime/engine.js';
import { countDocuments } from '../helpers/database.js';
import { engineFor, ManualClock, runningInvocation } from '../helpers/engine.js';
import { waitUntil } from '../helpers/instances.js';

afterAll(removeTempDirs);

const u1 = { type: 'user', userId: 'u1', claims: { sub: 'u1' } } as const;
const u2 = { type: 'user', userId: 'u2', claims: { sub: 'u2' } } as const;

async function runsOf(
  value: (kind: 'query', path: string, args?: unknown, opts?: object) => Promise<any>,
  engine: Engine,
  label: string,
): Promise<number> {
  void value;
  return countDocuments(engine, 'runs', { label });
}

describe('idempotency keys', async () => {
  const { call, value, engine } = await engineFor('engine-app');
  const runs = (label: string) => runsOf(value, engine, label);

  it('replay a completed call without running the handler again', async () => {
    const first = await call('action', 'actions:countRun', { label: 'replay' }, { key: 'k-replay' });
    const second = await call('action', 'actions:countRun', { label: 'replay' }, { key: 'k-replay' });
    expect(first).toMatchObject({ status: 200, body: { value: { label: 'replay' } } });
    expect(second).toEqual({ status: 200, body: first.body, headers: { 'idempotent-replayed': 'true' } });
    expect(await runs('replay')).toBe(1);
  });

  it('are scoped to the caller: the same key from two users runs twice', async () => {
    await call('action', 'actions:countRun', { label: 'scoped' }, { key: 'shared', invoker: u1 });
    await call('action', 'actions:countRun', { label: 'scoped' }, { key: 'shared', invoker: u2 });
    expect(await runs('scoped')).toBe(2);
  });

  it('refuse the same key with other args (422) without running the handler', async () => {
    await call('action', 'actions:countRun', { label: 'a422' }, { key: 'k-422' });
    const other = await call('action', 'actions:countRun', { label: 'b422' }, { key: 'k-422' });
    expect(other).toMatchObject({ status: 422, body: { code: 'idempotency_key_reused' } });
    expect(await runs('b422')).toBe(0);
  });

  it('answer 409 while the first call runs', async () => {
    // The first call holds until released: the duplicate surely arrives while it runs.
    const first = call('action', 'faults:waitForRelease', { label: 'inflight' }, { key: 'k-409' });
    await runningInvocation(engine, 'faults:waitForRelease');
    expect(await call('action', 'faults:waitForRelease', { label: 'inflight' }, { key: 'k-409' })).toMatchObject({
      status: 409,
      body: { code: 'idempotency_in_flight' },
    });
    // Released once its handler waits (the invocation is recorded as running just before).
    await waitUntil(async () => (await value('action', 'faults:releaseAll')) === 1, 30_000, 'the first call to wait');
    expect((await first).status).toBe(200);
  });

  it('run the handler exactly once for 300 concurrent duplicates', async () => {
    const responses = await Promise.all(
      Array.from({ length: 300 }, () =>
        call('action', 'actions:countRun', { label: 'storm', delayMs: 30 }, { key: 'k-storm' }),
      ),
    );
    expect(await runs('storm')).toBe(1);
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(1);
    expect(statuses).toHaveLength(300);
    expect(statuses.filter((s) => s !== 200 && s !== 409)).toEqual([]);
    const again = await call('action', 'actions:countRun', { label: 'storm', delayMs: 30 }, { key: 'k-storm' });
    expect(again.headers['idempotent-replayed']).toBe('true');
  });

  it('replay a failure of an action that is not safeToRetry', async () => {
    const first = await call('action', 'actions:failing', { label: 'fails' }, { key: 'k-fail' });
    const second = await call('action', 'actions:failing', { label: 'fails' }, { key: 'k-fail' });
    expect(first).toMatchObject({ status: 500, body: { code: 'handler_error' } });
    expect(second).toMatchObject({ status: 500, body: first.body, headers: { 'idempotent-replayed': 'true' } });
    expect(await runs('fails')).toBe(1);
  });

  it('re-run a safeToRetry action after a failure, counting attempts, then replay its success', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++)
      statuses.push(
        (await call('action', 'actions:flaky', { label: 'flaky', failures: 2 }, { key: 'k-flaky' })).status,
      );
    expect(statuses).toEqual([500, 500, 200, 200]);
    expect(await runs('flaky')).toBe(3);
    const [record] = await listInvocations(engine.connections.autoCommit.sql, { function: 'actions:flaky' });
    expect(record).toMatchObject({
      status: 'succeeded',
      attempts: 3,
      result: { attempts: 3 },
      idempotencyKey: 'k-flaky',
      safeToRetry: true,
    });
  });

  it('keep neither args nor result of a sensitive action, and refuse its duplicates', async () => {
    const first = await call('action', 'actions:rotateSecret', { label: 'secret' }, { key: 'k-secret' });
    expect(first).toMatchObject({ status: 200, body: { value: { secret: 's3cret-secret' } } });
    const duplicate = await call('action', 'actions:rotateSecret', { label: 'secret' }, { key: 'k-secret' });
    expect(duplicate).toMatchObject({ status: 409, body: { code: 'result_not_retained' } });
    expect(await runs('secret')).toBe(1);
    const stored = await engine.connections.autoCommit.sql.all(
      "SELECT args, result FROM _valet_action_invocations WHERE function = 'actions:rotateSecret'",
    );
    expect(stored).toEqual([{ args: null, result: null }]);
  });
});

describe('the invocation log', async () => {
  const { call, engine } = await engineFor('engine-app');

  it('records one row per invocation with invoker, args, status, result and timings', async () => {
    const response = await call('action', 'actions:countRun', { label: 'logged' }, { key: 'k-log', invoker: u1 });
    const id = response.headers['valet-invocation-id']!;
    expect(await getInvocation(engine.connections.autoCommit.sql, id)).toEqual({
      id,
      function: 'actions:countRun',
      invoker: u1,
      idempotencyKey: 'k-log',
      args: { label: 'logged' },
      status: 'succeeded',
      httpStatus: 200,
      result: { label: 'logged' },
      error: null,
      attempts: 1,
      sensitive: false,
      safeToRetry: false,
      startedAt: expect.any(String),
      finishedAt: expect.any(String),
      durationMs: expect.any(Number),
      rerunOf: null,
      errorStack: null,
    });
  });

  it("keeps a failed handler's stack for the admin, and never replays it to callers", async () => {
    const response = await call('action', 'actions:failing', { label: 'stack' }, { key: 'k-stack' });
    const recorded = (await getInvocation(
      engine.connections.autoCommit.sql,
      response.headers['valet-invocation-id']!,
    ))!;
    expect(recorded.errorStack).toMatch(/^Error: always fails\n\s+at handler/);
    const replay = await call('action', 'actions:failing', { label: 'stack' }, { key: 'k-stack' });
    expect(JSON.stringify(replay.body)).not.toContain('at handler');
    expect(replay.body).toEqual(response.body);
  });

  it('filters by function and status', async () => {
    await call('action', 'actions:failing', { label: 'x' });
    expect(
      new Set((await listInvocations(engine.connections.autoCommit.sql, { status: 'failed' })).map((i) => i.function)),
    ).toEqual(new Set(['actions:failing']));
    expect(
      await listInvocations(engine.connections.autoCommit.sql, { function: 'actions:countRun', limit: 1 }),
    ).toHaveLength(1);
  });
});

describe('timeouts', async () => {
  const clock = new ManualClock();
  const { call, value, engine } = await engineFor('engine-app', { clock });
  const runs = (label: string) => runsOf(value, engine, label);
  // An action's deadline is a timer on the injected clock: advance only once it is set.
  const started = () => clock.timersSet(1000);

  it('record a timed-out action as timeout (504), and re-run it under the same key when safeToRetry', async () => {
    const first = call('action', 'actions:hangs', { label: 'hang' }, { key: 'k-hang' });
    await started();
    // The handler's insert commits before it hangs: the deadline fires after that, not during it.
    await expect.poll(() => runs('hang')).toBe(1);
    clock.advance(1000);
    expect(await first).toMatchObject({ status: 504, body: { code: 'action_timeout' } });
    const [record] = await listInvocations(engine.connections.autoCommit.sql, { function: 'actions:hangs' });
    expect(record).toMatchObject({ status: 'timeout', attempts: 1 });
    const second = call('action', 'actions:hangs', { label: 'hang' }, { key: 'k-hang' });
    await started();
    // Run again under the same key: its insert lands before its deadline is made to pass.
    await expect.poll(() => runs('hang')).toBe(2);
    clock.advance(1000);
    expect((await second).status).toBe(504);
    expect((await listInvocations(engine.connections.autoCommit.sql, { function: 'actions:hangs' }))[0]).toMatchObject({
      status: 'timeout',
      attempts: 2,
    });
  });

  it('roll back and release a transaction the timed-out action held', async () => {
    const hung = call('action', 'actions:hangsInTransaction');
    await started();
    clock.advance(1000);
    expect((await hung).status).toBe(504);
    expect(await runs('in-tx')).toBe(0);
    expect(await value('mutation', 'bank:open', { owner: 'after', balance: 1 })).toEqual(expect.any(String));
  });
});

describe('transactions in actions', async () => {
  const { call, value, engine } = await engineFor('engine-app');
  const a = await value('mutation', 'bank:open', { owner: 'a', balance: 100 });
  const b = await value('mutation', 'bank:open', { owner: 'b', balance: 100 });
  const outbox = () => engine.connections.autoCommit.sql.all('SELECT delivery_key FROM _valet_outbox');

  it('are atomic: a failure halfway leaves nothing behind', async () => {
    expect(
      (await call('action', 'bank:transferInAction', { from: a, to: b, amount: 30, failAfterDebit: true })).status,
    ).toBe(500);
    expect(await value('query', 'bank:total')).toEqual({ first: 200, second: 200 });
    expect(await value('action', 'bank:transferInAction', { from: a, to: b, amount: 30 })).toBe(true);
  });

  it('refuse nesting and fetch, with clear errors', async () => {
    expect(await call('action', 'actions:nested')).toMatchObject({ status: 500, body: { code: 'nested_transaction' } });
    expect(await value('action', 'actions:fetchInTransaction')).toBe(
      'fetch inside ctx.db.transaction in actions:fetchInTransaction: call fetch first, then open the transaction.',
    );
  });

  it('take an email enqueue with them: rolled back on failure, deduplicated by deliveryKey', async () => {
    expect((await call('action', 'actions:enqueueInTransaction', { fail: true, key: 'r1' })).status).toBe(500);
    expect(await outbox()).toEqual([]);
    await value('action', 'actions:enqueueInTransaction', { fail: false, key: 'r1' });
    await value('action', 'actions:enqueueInTransaction', { fail: false, key: 'r1' });
    expect(await outbox()).toEqual([{ delivery_key: 'r1' }]);
  });
});

describe('retention', async () => {
  const clock = new ManualClock();
  const { call, engine } = await engineFor('engine-app', { clock, invocationRetentionMs: 60_000 });

  it('keeps invocation records (and so idempotent replays) at least 24 hours, then prunes them', async () => {
    await call('action', 'actions:countRun', { label: 'kept' }, { key: 'k-kept' });
    // Within 24 hours the record is kept: the key replays.
    clock.advance(23 * 3_600_000);
    expect(
      (await call('action', 'actions:countRun', { label: 'kept' }, { key: 'k-kept' })).headers['idempotent-replayed'],
    ).toBe('true');
    clock.advance(2 * 3_600_000);
    await expect
      .poll(() => listInvocations(engine.connections.autoCommit.sql, { function: 'actions:countRun' }))
      .toEqual([]);
  });
});
