// An instance's heartbeat is written on a connection of its own and in a loop of its own: nothing
// the instance does with the heartbeat's pace (taking over dead instances' work, which may wait
// for locks; measuring the database clock) can hold it up until the instance looks dead itself.
// One engine in its own schema: the only reap that can touch the test's row is this instance's.
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { PostgresConnections } from '../../src/runtime/connections/postgres.js';
import { removeTempDirs } from '../helpers/apps.js';
import { engineFor } from '../helpers/engine.js';

afterAll(removeTempDirs);

describe('heartbeats on a busy database', async () => {
  // Reaping starts once the instance has been healthy for a TTL, and waits for a lock at most half of one.
  const instances = { heartbeatMs: 50, ttlMs: 10_000 };
  const { engine } = await engineFor('engine-app', { instances, background: true });
  if (!(engine.connections instanceof PostgresConnections)) throw new Error('a PostgreSQL engine is needed');
  const pool = engine.connections.pool;
  afterAll(() => engine.close());

  it('keep their pace while a reap waits for a lock', async () => {
    // Past the first reap, made as the instance started: the next comes once it was healthy a TTL.
    await expect.poll(() => engine.workersRunning).toBe(true);
    await pool.query(
      `INSERT INTO _valet_action_invocations (id, function, principal, invoker, args_hash, sensitive, safe_to_retry, status, attempts, started_at, instance)
       VALUES ('held-by-a-test', 'faults:waitForRelease', 'anonymous', '{}', '', 0, 0, 'running', 1, 0, 'a-gone-instance')`,
    );
    // A session of its own: the engine's pool ends a transaction left idle, as a frozen instance's.
    const holder = new pg.Client(pool.options as pg.ClientConfig);
    await holder.connect();
    await holder.query('SET idle_in_transaction_session_timeout = 0');
    try {
      // Another session holds the orphaned row: the reap that would interrupt it must wait.
      await holder.query('BEGIN');
      await holder.query(`SELECT id FROM _valet_action_invocations WHERE id = 'held-by-a-test' FOR UPDATE`);
      const waiter = async () =>
        (
          await pool.query<{ pid: number; since: Date }>(
            `SELECT pid, query_start AS since FROM pg_stat_activity
              WHERE wait_event_type = 'Lock' AND query LIKE 'UPDATE _valet_action_invocations%'`,
          )
        ).rows[0];
      const heartbeat = async () =>
        (
          await pool.query<{ at: number }>('SELECT heartbeat_at AS at FROM _valet_instances WHERE id = $1', [
            engine.instance!.id,
          ])
        ).rows[0]!.at;
      await expect.poll(waiter, { timeout: 30_000 }).toBeDefined();
      const waiting = (await waiter())!;
      const before = await heartbeat();
      await expect.poll(heartbeat).toBeGreaterThan(before);
      // The same reap is still waiting: the heartbeat did not wait for it.
      expect(await waiter()).toEqual(waiting);
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
    }
    await expect
      .poll(
        async () =>
          (await pool.query(`SELECT status FROM _valet_action_invocations WHERE id = 'held-by-a-test'`)).rows[0].status,
      )
      .toBe('interrupted');
  });
});
