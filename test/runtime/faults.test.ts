// Faults end in a clear state, never a stuck one; bad input gets a 4xx naming the problem.
// Against the real engine: interrupted invocations, calls that would deadlock inside a
// transaction, storage failures, hostile values.
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createEngine } from '../../src/runtime/engine.js';
import type { Engine } from '../../src/runtime/engine.js';
import { buildAndLoad } from '../../src/bundler/evaluate.js';
import { getInvocation, listInvocations } from '../../src/runtime/invocations/store.js';
import { listScheduled } from '../../src/runtime/scheduler/store.js';
import { removeTempDirs } from '../helpers/apps.js';
import { onPostgres, sqliteWriterOf, testDatabase } from '../helpers/database.js';
import { engineFor, runningInvocation } from '../helpers/engine.js';
import { waitUntil } from '../helpers/instances.js';

afterAll(removeTempDirs);

describe('an action left running by a crash', async () => {
  const first = await engineFor('engine-app');
  const { app, call } = first;
  const modules = await buildAndLoad(app);
  let restarted: Engine | null = null;
  afterAll(async () => {
    await call('action', 'faults:releaseAll');
    await restarted?.close();
    await first.engine.close();
  });

  it('is marked interrupted when a server starts on the database again, and a retry says so instead of 409 forever', async () => {
    const pending = call('action', 'faults:waitForRelease', { label: 'crash' }, { key: 'k-crash' });
    const retryable = call(
      'action',
      'faults:waitForReleaseRetryable',
      { label: 'crash-retryable' },
      { key: 'k-retryable' },
    );
    await runningInvocation(first.engine, 'faults:waitForRelease');
    await runningInvocation(first.engine, 'faults:waitForReleaseRetryable');
    expect(await call('action', 'faults:waitForRelease', { label: 'crash' }, { key: 'k-crash' })).toMatchObject({
      status: 409,
      body: { code: 'idempotency_in_flight' },
    });

    // The process "dies" (its heartbeat stops): a new server opens the same database. On SQLite
    // it owns the file and takes over at once; on PostgreSQL once the heartbeat is older than the TTL.
    await first.engine.instance!.stopHeartbeat();
    restarted = await createEngine({
      modules,
      ...testDatabase(join(app, '.valet')),
      env: {},
      log: () => undefined,
      background: true,
      instances: { ttlMs: 300, heartbeatMs: 50 },
    });
    const again = (path: string, args: object, key: string) =>
      restarted!.call({
        kind: 'action',
        path,
        args,
        invoker: { type: 'anonymous' },
        external: true,
        idempotencyKey: key,
      });
    await expect
      .poll(
        async () => (await listInvocations(restarted!.connections.autoCommit.sql, { status: 'interrupted' })).length,
      )
      .toBe(2);

    const replay = await again('faults:waitForRelease', { label: 'crash' }, 'k-crash');
    expect(replay).toMatchObject({
      status: 500,
      body: { code: 'interrupted', message: expect.stringContaining('not safeToRetry') },
    });
    const rerun = await again('faults:waitForReleaseRetryable', { label: 'crash-retryable' }, 'k-retryable');
    expect(rerun).toMatchObject({ status: 200, body: { value: 'second attempt' } });
    const record = (
      await listInvocations(restarted.connections.autoCommit.sql, { function: 'faults:waitForReleaseRetryable' })
    )[0]!;
    expect(record).toMatchObject({ status: 'succeeded', attempts: 2 });

    // The first process's handlers finish late. The safeToRetry one was run again (attempt 2): its
    // first attempt is fenced out and changes nothing. The other was only judged `interrupted`
    // (nobody knew how it ended); its own attempt now knows, and the key tells that truth from here on.
    let released = 0;
    await waitUntil(
      async () => {
        released += ((await call('action', 'faults:releaseAll')).body as { value: number }).value;
        return released === 2;
      },
      30_000,
      'both first handlers to be released',
    );
    const [late] = await Promise.all([pending, retryable]);
    expect(late).toMatchObject({ status: 200, body: { value: 'released' } });
    expect(
      (await listInvocations(restarted.connections.autoCommit.sql, { function: 'faults:waitForReleaseRetryable' }))[0],
    ).toMatchObject({ status: 'succeeded', attempts: 2 });
    const interrupted = (
      await listInvocations(restarted.connections.autoCommit.sql, { function: 'faults:waitForRelease' })
    )[0]!;
    expect(await getInvocation(restarted.connections.autoCommit.sql, interrupted.id)).toMatchObject({
      status: 'succeeded',
      result: 'released',
    });
    expect(await again('faults:waitForRelease', { label: 'crash' }, 'k-crash')).toMatchObject({
      status: 200,
      body: { value: 'released' },
    });
  });
});

describe('calls inside ctx.db.transaction', async () => {
  const { call, value, engine } = await engineFor('engine-app');
  afterAll(() => engine.close());

  it('ctx.runMutation throws at once (no deadlock on the writer) and nothing commits after the rollback', async () => {
    // A deadlock would end in action_timeout after 5 s; the refusal comes first.
    expect(await value('action', 'faults:runMutationInTransaction', { email: 'inner@example.com' })).toMatchObject({
      code: 'not_allowed_in_transaction',
      message: expect.stringContaining('ctx.runMutation cannot be called inside ctx.db.transaction'),
    });
    // A write left behind by the handler would queue for the writer before this one: once this
    // commits, anything the rolled-back transaction could still have written has had its turn.
    await engine.runInMutation('barrier', { type: 'system', source: 'admin' }, () => null);
    expect(await value('query', 'users:byEmail', { email: 'inner@example.com' })).toBeNull();
    const runs = await engine.call({
      kind: 'query',
      path: 'users:emails',
      args: {},
      invoker: { type: 'anonymous' },
      external: true,
    });
    expect(JSON.stringify(runs.body)).not.toContain('inner@example.com');
    // The writer is free: other writes go on.
    expect((await call('mutation', 'users:create', { email: 'after@example.com' })).status).toBe(200);
  });

  it("ctx.runQuery reads the transaction's own snapshot", async () => {
    expect(await value('action', 'faults:runQueryInTransaction', { email: 'seen@example.com' })).toBe(
      'seen@example.com',
    );
  });

  it('ctx.scheduler schedules with the transaction, and not at all when it rolls back', async () => {
    expect(await value('action', 'faults:scheduleInTransaction', { job: 'tx-kept', fail: false })).toBe('committed');
    expect(await value('action', 'faults:scheduleInTransaction', { job: 'tx-dropped', fail: true })).toBe(
      'rolled back',
    );
    const scheduled = (await listScheduled(engine.connections.autoCommit.sql)).map(
      (row) => (row.args as { job: string }).job,
    );
    expect(scheduled).toContain('tx-kept');
    expect(scheduled).not.toContain('tx-dropped');
  });
});

describe.skipIf(onPostgres)('storage failures (SQLite: tests/postgres has the PostgreSQL ones)', async () => {
  const { call, engine, app, logs } = await engineFor('engine-app');
  afterAll(() => engine.close());

  it('a database locked past the timeout answers 503 storage_unavailable, the cause in the log, and recovers', async () => {
    const other = new Database(join(app, '.valet/valet.db'));
    sqliteWriterOf(engine).pragma('busy_timeout = 50');
    other.prepare('BEGIN EXCLUSIVE').run();
    try {
      const response = await call('mutation', 'users:create', { email: 'busy@example.com' });
      expect(response).toMatchObject({ status: 503, body: { code: 'storage_unavailable' } });
      expect(logs.join('\n')).toMatch(/storage failure: .*SQLITE_BUSY|database is locked/);
    } finally {
      other.prepare('ROLLBACK').run();
      other.close();
    }
    expect((await call('mutation', 'users:create', { email: 'busy@example.com' })).status).toBe(200);
  });

  it('a full disk answers 507 storage_full and loses nothing already committed', async () => {
    const db = sqliteWriterOf(engine);
    const pages = db.pragma('page_count', { simple: true }) as number;
    db.pragma(`max_page_count = ${pages + 8}`);
    try {
      expect(await call('mutation', 'faults:bigInsert', { kilobytes: 512 })).toMatchObject({
        status: 507,
        body: { code: 'storage_full' },
      });
    } finally {
      db.pragma('max_page_count = 1073741823');
    }
    expect((await call('query', 'users:byEmail', { email: 'busy@example.com' })).body).toMatchObject({
      value: { email: 'busy@example.com' },
    });
  });
});

describe('hostile values', async () => {
  const { call, engine } = await engineFor('engine-app');
  afterAll(() => engine.close());

  it.each(['constructor', 'toString', 'valueOf', 'hasOwnProperty', '__proto__', '__defineGetter__'])(
    'refuses an args field named %s as unexpected',
    async (name) => {
      const args = JSON.parse(`{"email":"a@example.com",${JSON.stringify(name)}:"x"}`);
      const response = await call('mutation', 'users:create', args);
      expect(response.status).toBe(400);
      expect((response.body as { message: string }).message).toMatch(/unexpected field/);
    },
  );

  it.each(['constructor', 'toString', 'valueOf', 'hasOwnProperty', '__defineGetter__'])(
    'does not store a document field named %s past the schema',
    async (name) => {
      const response = await call('mutation', 'faults:insertField', {
        fields: JSON.parse(`{${JSON.stringify(name)}:"x"}`),
      });
      expect(response.status).toBe(500);
      // Refused by the schema (unexpected field), or earlier as a reserved `_` name.
      expect(response.body).toMatchObject({ message: expect.stringMatching(/unexpected field|is reserved/) });
    },
  );

  it('refuses a table named like an Object.prototype member', async () => {
    const response = await engine.call({
      kind: 'query',
      path: 'users:emails',
      args: {},
      invoker: { type: 'anonymous' },
      external: true,
    });
    expect(response.status).toBe(200);
    const store = engine.connections.autoCommit;
    await expect(store.insert('constructor', { a: 1 })).rejects.toThrow(/table "constructor" is not declared/);
  });

  it('refuses values nested deeper than 64 levels with 400 naming the path, without overflowing the stack', async () => {
    let deep: unknown = 1;
    for (let i = 0; i < 10_000; i++) deep = { a: deep };
    const response = await call('query', 'faults:echo', { value: deep });
    expect(response.status).toBe(400);
    expect((response.body as { message: string }).message).toMatch(/^args\.value(\.a)+: nested deeper than 64 levels$/);
    let sixtyTwo: unknown = 1;
    for (let i = 0; i < 62; i++) sixtyTwo = [sixtyTwo];
    expect((await call('query', 'faults:echo', { value: sixtyTwo })).status).toBe(200);
  });

  it("refuses a deeply nested return value as the function's error", async () => {
    expect(await call('query', 'faults:deepResult', { depth: 10_000 })).toMatchObject({
      status: 500,
      body: { code: 'invalid_return_value', message: expect.stringContaining('nested deeper than 64 levels') },
    });
    expect((await call('query', 'faults:deepResult', { depth: 10 })).status).toBe(200);
  });

  it('refuses non-finite numbers at the door, also under v.any()', async () => {
    for (const value of [Infinity, -Infinity, NaN, { x: [1, Infinity] }]) {
      const response = await call('query', 'faults:echo', { value });
      expect(response.status, String(value)).toBe(400);
      expect((response.body as { message: string }).message).toMatch(/^args\.value.*is not a finite number$/);
    }
  });

  it('refuses an idempotency key longer than 255 characters with 400', async () => {
    expect(await call('action', 'actions:countRun', { label: 'long-key' }, { key: 'k'.repeat(256) })).toMatchObject({
      status: 400,
      body: { code: 'invalid_idempotency_key' },
    });
    expect((await call('action', 'actions:countRun', { label: 'long-key' }, { key: 'k'.repeat(255) })).status).toBe(
      200,
    );
  });

  it('explains how to declare args when a function declares none', async () => {
    const response = await call('query', 'jobs:ticks', { since: 1 });
    expect(response).toMatchObject({ status: 400, body: { message: expect.stringContaining('declares no args') } });
  });
});
