// ctx.scheduler and crons, on an injected clock: transactional scheduling, restarts, catch-up
// after downtime, overlap, clocks that jump back, manual triggers.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listCronRuns } from '../../src/runtime/cron/runs.js';
import { createEngine } from '../../src/runtime/engine.js';
import { listScheduled } from '../../src/runtime/scheduler/store.js';
import { buildAndLoad } from '../../src/bundler/evaluate.js';
import { removeTempDirs } from '../helpers/apps.js';
import { testDatabase } from '../helpers/database.js';
import { engineFor, ManualClock } from '../helpers/engine.js';
import { waitUntil } from '../helpers/instances.js';

afterAll(removeTempDirs);

describe('ctx.scheduler', async () => {
  const clock = new ManualClock();
  const { value, call, engine, app } = await engineFor('engine-app', { clock });

  it('schedules only when the mutation commits', async () => {
    expect((await call('mutation', 'jobs:later', { delayMs: 1000, job: 'rolled-back', fail: true })).status).toBe(500);
    expect(await listScheduled(engine.connections.autoCommit.sql)).toEqual([]);
    await value('mutation', 'jobs:later', { delayMs: 5000, job: 'kept' });
    expect(await listScheduled(engine.connections.autoCommit.sql)).toEqual([
      expect.objectContaining({
        function: 'jobs:tick',
        status: 'pending',
        args: { job: 'kept' },
        scheduledBy: 'mutation jobs:later',
      }),
    ]);
  });

  it('runs it when due, as the system with source scheduler', async () => {
    await engine.scheduled.round();
    expect(await value('query', 'jobs:ticks')).toEqual([]);
    clock.advance(5000);
    await engine.scheduled.round();
    const [tick] = await value('query', 'jobs:ticks');
    expect(tick).toMatchObject({
      job: 'kept',
      invoker: { type: 'system', source: 'scheduler', scheduledAt: clock.now(), dispatchedAt: clock.now() },
    });
    expect((await listScheduled(engine.connections.autoCommit.sql))[0]).toMatchObject({ status: 'done', attempts: 1 });
  });

  it('cancels pending work', async () => {
    const id = await value('mutation', 'jobs:later', { delayMs: 1000, job: 'canceled' });
    await value('mutation', 'jobs:cancel', { id });
    clock.advance(1000);
    await engine.scheduled.round();
    expect((await value('query', 'jobs:ticks')).map((t: { job: string }) => t.job)).toEqual(['kept']);
    expect(await listScheduled(engine.connections.autoCommit.sql, { status: 'canceled' })).toHaveLength(1);
  });

  it('survives a restart: a new engine on the same database runs what was pending', async () => {
    await value('mutation', 'jobs:later', { delayMs: 2000, job: 'after-restart' });
    await engine.close();
    const again = await createEngine({
      modules: await buildAndLoad(app),
      ...testDatabase(join(app, '.valet')),
      clock,
      env: {},
      log: () => undefined,
    });
    clock.advance(2000);
    await again.scheduled.round();
    const ticks = (
      await again.call({ kind: 'query', path: 'jobs:ticks', args: {}, invoker: { type: 'anonymous' }, external: true })
    ).body as { value: { job: string }[] };
    expect(ticks.value.map((t) => t.job)).toEqual(['kept', 'after-restart']);
    await again.close();
  });
});

describe('ctx.db.system: _scheduled_functions, as Convex has it', async () => {
  const clock = new ManualClock();
  const { value, engine } = await engineFor('engine-app', { clock });
  afterAll(() => engine.close());

  it('shows a call pending, then succeeded with its completion time', async () => {
    const scheduledAt = clock.now();
    const id = await value('mutation', 'jobs:later', { delayMs: 5000, job: 'watched' });
    expect(await value('query', 'jobs:scheduledState', { id })).toEqual({
      _id: id,
      _creationTime: scheduledAt,
      name: 'jobs:tick',
      args: [{ job: 'watched' }],
      scheduledTime: scheduledAt + 5000,
      state: { kind: 'pending' },
    });
    clock.advance(5000);
    await engine.scheduled.round();
    expect(await value('query', 'jobs:scheduledState', { id })).toMatchObject({
      state: { kind: 'success' },
      completedTime: clock.now(),
    });
  });

  it('shows a canceled call, a failed one with its error, and null for an unknown id', async () => {
    const canceled = await value('mutation', 'jobs:later', { delayMs: 1000, job: 'dropped' });
    await value('mutation', 'jobs:cancel', { id: canceled });
    expect(await value('query', 'jobs:scheduledState', { id: canceled })).toMatchObject({
      state: { kind: 'canceled' },
    });
    const failed = await value('mutation', 'jobs:laterFailing', { label: 'scheduled-failure' });
    await engine.scheduled.round();
    expect(await value('query', 'jobs:scheduledState', { id: failed })).toMatchObject({
      name: 'actions:failing',
      // The caller's view of the error: what an unexpected error says outside the server log.
      state: { kind: 'failed', error: 'the function threw an error (details are in the server log)' },
    });
    expect(await value('query', 'jobs:scheduledState', { id: 'no-such-call' })).toBeNull();
  });

  it('queries the table, filtered and newest first, and a mutation reads the call it just scheduled', async () => {
    expect(await value('mutation', 'jobs:laterAndRead', { job: 'read-back' })).toEqual({ kind: 'pending' });
    const ticks = await value('query', 'jobs:scheduledOf', { name: 'jobs:tick' });
    expect(ticks.map((call: { args: { job: string }[] }) => call.args[0]!.job)).toEqual([
      'read-back',
      'dropped',
      'watched',
    ]);
    expect(ticks.map((call: { state: string }) => call.state)).toEqual(['pending', 'canceled', 'success']);
  });

  it('refuses a table that is not a system table, naming the ones there are', async () => {
    const response = await engine.call({
      kind: 'query',
      path: 'parity:systemTable',
      args: { table: 'users' },
      invoker: { type: 'anonymous' },
      external: true,
    });
    expect(response.body).toMatchObject({
      code: 'invalid_query',
      message: 'ctx.db.system.query: no system table "users" (system tables: _scheduled_functions, _storage)',
    });
  });
});

describe('crons', async () => {
  const clock = new ManualClock(); // starts at 09:00:00 UTC
  const { value, engine } = await engineFor('engine-app', { clock });
  const runs = async (job: string) => (await listCronRuns(engine.connections.autoCommit.sql, { job })).reverse();

  it('starts counting when a job is first seen, then runs each tick as the system with timing fields', async () => {
    await engine.crons.round();
    expect(await runs('every-minute')).toEqual([]);
    clock.advance(60_000);
    await engine.crons.round();
    await engine.crons.settle();
    const [tick] = await value('query', 'jobs:ticks');
    expect(tick.invoker).toEqual({
      type: 'system',
      source: 'cron',
      job: 'every-minute',
      scheduledAt: clock.now(),
      dispatchedAt: clock.now(),
    });
    expect(await runs('every-minute')).toEqual([
      expect.objectContaining({ status: 'succeeded', trigger: 'schedule', catchUp: false, lagMs: 0 }),
    ]);
  });

  it('catches up missed ticks after downtime with one run flagged catchUp', async () => {
    clock.advance(5 * 60_000);
    await engine.crons.round();
    await engine.crons.settle();
    expect((await runs('every-minute')).at(-1)).toMatchObject({ status: 'succeeded', catchUp: true, missedRuns: 5 });
    const last = (await value('query', 'jobs:ticks')).at(-1);
    expect(last.invoker).toMatchObject({ catchUp: true, missedRuns: 5 });
  });

  it('never runs one tick twice when the clock jumps backwards', async () => {
    const before = (await runs('every-minute')).length;
    clock.advance(-10 * 60_000);
    await engine.crons.round();
    clock.advance(10 * 60_000);
    await engine.crons.round();
    await engine.crons.settle();
    expect((await runs('every-minute')).length).toBe(before);
  });

  it('records an overlapping tick as skipped while the previous run is still going', async () => {
    clock.advance(60 * 60_000); // 10:06 → past 10:00, the hourly job's first tick since it was seen
    await engine.crons.round();
    // The run waits for jobs:release: wait until it is recorded as running, not until it ends.
    await waitUntil(async () => (await runs('hourly-slow')).length === 1, 30_000, 'the hourly run to start');
    expect((await runs('hourly-slow')).map((r) => r.status)).toEqual(['running']);
    clock.advance(60 * 60_000);
    await engine.crons.round();
    expect((await runs('hourly-slow')).map((r) => r.status)).toEqual(['running', 'skipped']);
    // Release the run once its handler is waiting (the run row is written before the handler starts).
    await waitUntil(async () => (await value('action', 'jobs:release')) === 1, 30_000, 'the hourly run to wait');
    await engine.crons.settle();
    expect((await runs('hourly-slow')).map((r) => r.status)).toEqual(['succeeded', 'skipped']);
  });

  it('runs a job on demand as an admin trigger', async () => {
    const { runId } = await engine.crons.trigger('every-minute');
    expect((await runs('every-minute')).find((r) => r.id === runId)).toMatchObject({
      status: 'succeeded',
      trigger: 'admin',
    });
    expect((await value('query', 'jobs:ticks')).at(-1).invoker).toMatchObject({ source: 'admin', job: 'every-minute' });
    await expect(engine.crons.trigger('nope')).rejects.toThrow('no cron job "nope"');
  });
});

describe('HTTP routes', async () => {
  const { engine } = await engineFor('engine-app');
  const { signWebhookPayload } = await import('../../src/server/index.js');
  const request = (path: string, init: RequestInit = {}) =>
    engine.handleHttp(new Request(`http://localhost/http${path}`, init), path);

  it('serve exact paths and prefixes with a raw Request', async () => {
    const echo = await request('/echo', { method: 'POST', body: 'hello' });
    expect(await echo.json()).toEqual({ body: 'hello', invoker: 'anonymous' });
    expect(await (await request('/files/a/b.txt', { method: 'GET' })).text()).toBe('/http/files/a/b.txt');
  });

  it('verify a signed webhook first, then hand off to a mutation', async () => {
    const payload = JSON.stringify({ email: 'hook@example.com' });
    const unsigned = await request('/signed', { method: 'POST', body: payload });
    expect([unsigned.status, await unsigned.text()]).toEqual([400, 'missing_signature']);
    const forged = await request('/signed', {
      method: 'POST',
      body: payload,
      headers: { 'valet-signature': await signWebhookPayload({ payload, secret: 'wrong-secret' }) },
    });
    expect([forged.status, await forged.text()]).toEqual([400, 'bad_signature']);
    const signed = await request('/signed', {
      method: 'POST',
      body: payload,
      headers: { 'valet-signature': await signWebhookPayload({ payload, secret: 'test-secret-0123456789' }) },
    });
    expect(signed.status).toBe(200);
    const { id } = (await signed.json()) as { id: string };
    expect(await engine.connections.autoCommit.get(id)).toMatchObject({ email: 'hook@example.com' });
  });

  it('answer 404 for unknown routes and 500 for a handler that returns no Response', async () => {
    expect((await request('/nope', { method: 'GET' })).status).toBe(404);
    const broken = await request('/broken', { method: 'GET' });
    expect([broken.status, ((await broken.json()) as { code: string }).code]).toEqual([500, 'invalid_route_response']);
  });
});

describe('webhook signatures', async () => {
  const { signWebhookPayload, verifyWebhookSignature } = await import('../../src/server/index.js');
  it('refuse stale timestamps and malformed headers', async () => {
    const old = await signWebhookPayload({ payload: '{}', secret: 'secret', timestampSeconds: 1_000_000 });
    expect(await verifyWebhookSignature({ payload: '{}', header: old, secret: 'secret' })).toEqual({
      ok: false,
      reason: 'stale_timestamp',
    });
    expect(await verifyWebhookSignature({ payload: '{}', header: old, secret: 'secret', now: 1_000_100_000 })).toEqual({
      ok: true,
      timestamp: 1_000_000,
    });
    expect(await verifyWebhookSignature({ payload: '{}', header: 't=1,v1=zz', secret: 'secret' })).toEqual({
      ok: false,
      reason: 'malformed_signature',
    });
  });
});
