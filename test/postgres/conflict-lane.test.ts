// A write transaction that conflicted twice runs its next attempt in the conflict lane: it waits
// for the one transaction (on any instance) holding it, and takes its snapshot after that one is
// done. A lane held too long is not waited for; a fault entering it applies nothing, and a fault
// leaving it neither undoes nor hides the write that committed.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONFLICT_LANE_LOCK } from '../../src/runtime/connections/conflict-lane.js';
import { PostgresConnections } from '../../src/runtime/connections/postgres.js';
import { removeTempDirs } from '../helpers/apps.js';
import { engineFor } from '../helpers/engine.js';
import { waitUntil } from '../helpers/instances.js';

afterAll(removeTempDirs);

describe('the conflict lane', async () => {
  const { engine, call } = await engineFor('engine-app');
  afterAll(() => engine.close());
  const connections = engine.connections;
  if (!(connections instanceof PostgresConnections)) throw new Error('a PostgreSQL engine is needed');
  const pool = connections.pool;
  const table = `lane_counter_${process.pid}`;
  /** Another instance's session, which can hold the lane. */
  const other = new pg.Client(pool.options as pg.ClientConfig);

  beforeAll(async () => {
    await other.connect();
    await pool.query(`CREATE TABLE ${table} (id integer PRIMARY KEY, n integer NOT NULL)`);
    await pool.query(`INSERT INTO ${table} VALUES (1, 0)`);
  });
  afterAll(async () => {
    await pool.query(`DROP TABLE ${table}`);
    await other.end();
  });

  const counter = async () => (await pool.query(`SELECT n FROM ${table} WHERE id = 1`)).rows[0].n as number;

  /**
   * Adds 1 to the counter in a write transaction that conflicts on its first `conflicts` attempts
   * (a concurrent writer commits between its read and its write); how many attempts it took.
   */
  async function conflictingWrite(conflicts: number): Promise<number> {
    let attempts = 0;
    await connections.inWriteTransaction(async (store) => {
      attempts++;
      const { n } = (await store.sql.get<{ n: number }>(`SELECT n FROM ${table} WHERE id = ?`, [1]))!;
      if (attempts <= conflicts) await pool.query(`UPDATE ${table} SET n = n + 100 WHERE id = 1`);
      await store.sql.run(`UPDATE ${table} SET n = ? WHERE id = ?`, [n + 1, 1]);
    });
    return attempts;
  }

  const waitingForLane = async () =>
    (
      await pool.query(
        `SELECT COUNT(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
           AND (classid::bigint << 32) + objid::bigint = $1`,
        [CONFLICT_LANE_LOCK],
      )
    ).rows[0].n > 0;

  it('runs a transaction that conflicted twice after the lane is free, and commits it', async () => {
    await other.query('SELECT pg_advisory_lock($1)', [CONFLICT_LANE_LOCK]);
    const entries = connections.laneEntries;
    const before = await counter();
    const write = conflictingWrite(2);
    try {
      await waitUntil(waitingForLane, 30_000, 'the third attempt waiting for the lane');
    } finally {
      await other.query('SELECT pg_advisory_unlock($1)', [CONFLICT_LANE_LOCK]);
    }
    expect(await write).toBe(3);
    expect(connections.laneEntries).toBe(entries + 1);
    // Two concurrent writes of 100 and the transaction's own 1.
    expect(await counter()).toBe(before + 201);
    // It left the lane: another session takes it at once.
    expect((await other.query('SELECT pg_try_advisory_lock($1) AS held', [CONFLICT_LANE_LOCK])).rows[0].held).toBe(
      true,
    );
    await other.query('SELECT pg_advisory_unlock($1)', [CONFLICT_LANE_LOCK]);
  });

  it('runs the attempt outside a lane held too long, rather than wait for it', async () => {
    await other.query('SELECT pg_advisory_lock($1)', [CONFLICT_LANE_LOCK]);
    try {
      const entries = connections.laneEntries;
      const before = await counter();
      expect(await conflictingWrite(2)).toBe(3);
      expect(connections.laneEntries).toBe(entries);
      expect(await counter()).toBe(before + 201);
    } finally {
      await other.query('SELECT pg_advisory_unlock($1)', [CONFLICT_LANE_LOCK]);
    }
  });

  it('applies nothing when entering the lane fails, and says the database was unavailable', async () => {
    const before = await counter();
    connections.faults.failNext('pg_advisory_lock');
    await expect(conflictingWrite(2)).rejects.toMatchObject({ code: 'storage_unavailable' });
    // Only the two concurrent writes landed.
    expect(await counter()).toBe(before + 200);
  });

  it('keeps a write that committed when leaving the lane fails; the dropped connection frees the lane', async () => {
    const before = await counter();
    connections.faults.failNext('pg_advisory_unlock');
    expect(await conflictingWrite(2)).toBe(3);
    expect(await counter()).toBe(before + 201);
    await waitUntil(
      async () => (await other.query('SELECT pg_try_advisory_lock($1) AS held', [CONFLICT_LANE_LOCK])).rows[0].held,
      30_000,
      'the lane to be free',
    );
    await other.query('SELECT pg_advisory_unlock($1)', [CONFLICT_LANE_LOCK]);
    // The pool serves on without the dropped connection.
    expect((await call('mutation', 'users:create', { email: 'after-lane@example.com' })).status).toBe(200);
  });

  it('lets every one of many writers on one row through, with nothing lost', async () => {
    const before = await counter();
    const writers = 40;
    await Promise.all(
      Array.from({ length: writers }, () =>
        connections.inWriteTransaction(async (store) => {
          const { n } = (await store.sql.get<{ n: number }>(`SELECT n FROM ${table} WHERE id = ?`, [1]))!;
          await store.sql.run(`UPDATE ${table} SET n = ? WHERE id = ?`, [n + 1, 1]);
        }),
      ),
    );
    expect(await counter()).toBe(before + writers);
  });
});
