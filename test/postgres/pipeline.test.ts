// Write transactions on PostgreSQL send BEGIN with their first statement and COMMIT with the change
// log's row: two round trips for a one-write mutation. What a failure at each point means stays
// exact: a refused statement before COMMIT is "not applied", a COMMIT that conflicts runs again,
// and a statement the server refused to prepare is prepared again on that connection next time.
import type pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { PostgresConnections } from '../../src/runtime/connections/postgres.js';
import { PgExecutor } from '../../src/storage/postgres/executor.js';
import { removeTempDirs } from '../helpers/apps.js';
import { countDocuments } from '../helpers/database.js';
import { engineFor } from '../helpers/engine.js';

afterAll(removeTempDirs);

describe('pipelined transactions', async () => {
  const { engine, call } = await engineFor('engine-app');
  afterAll(() => engine.close());
  if (!(engine.connections instanceof PostgresConnections)) throw new Error('a PostgreSQL engine is needed');
  const pool = engine.connections.pool;

  /** A pooled client whose messages to the server are counted (one `query` is one round trip). */
  async function countedClient(): Promise<{ client: pg.PoolClient; trips: () => number }> {
    const client = await pool.connect();
    let trips = 0;
    const query = client.query.bind(client);
    client.query = ((...args: unknown[]) => {
      trips++;
      return (query as (...a: unknown[]) => unknown)(...args);
    }) as typeof client.query;
    return { client, trips: () => trips };
  }

  it('writes and logs a change in two round trips: BEGIN with the write, the log row with COMMIT', async () => {
    const { client, trips } = await countedClient();
    try {
      await client.query('CREATE TEMP TABLE pipeline_notes (n integer)');
      const before = trips();
      const sql = new PgExecutor(client);
      sql.begin('BEGIN ISOLATION LEVEL SERIALIZABLE');
      await sql.run('INSERT INTO pipeline_notes VALUES (?)', [1]);
      const [logged] = await sql.commit<{ n: number }>({
        sql: 'SELECT COUNT(*)::int AS n FROM pipeline_notes',
        params: [],
      });
      expect(logged).toEqual({ n: 1 });
      expect(trips() - before).toBe(2);
      expect(sql.transactionOpen).toBe(false);
      expect((await client.query('SELECT COUNT(*)::int AS n FROM pipeline_notes')).rows).toEqual([{ n: 1 }]);
      await client.query('DROP TABLE pipeline_notes');
    } finally {
      client.release();
    }
  });

  it('sends nothing for a transaction that ran no statement', async () => {
    const { client, trips } = await countedClient();
    try {
      const sql = new PgExecutor(client);
      sql.begin('BEGIN ISOLATION LEVEL SERIALIZABLE');
      expect(await sql.commit()).toEqual([]);
      expect(trips()).toBe(0);
      expect(sql.transactionOpen).toBe(false);
    } finally {
      client.release();
    }
  });

  it('answers a change log row the server refuses as not applied (a certain 507 or 503), and applies nothing', async () => {
    for (const [sqlstate, status, code] of [
      ['53100', 507, 'storage_full'],
      ['XX000', 503, 'storage_unavailable'],
    ] as const) {
      await pool.query(`CREATE OR REPLACE FUNCTION pipeline_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'refused by the test' USING ERRCODE = '${sqlstate}'; END $$`);
      await pool.query(
        'CREATE TRIGGER pipeline_refuse BEFORE INSERT ON _valet_changes FOR EACH ROW EXECUTE FUNCTION pipeline_refuse()',
      );
      try {
        const email = `refused-${sqlstate}@example.com`;
        expect(await call('mutation', 'users:create', { email })).toMatchObject({ status, body: { code } });
        expect(await countDocuments(engine, 'users', { email })).toBe(0);
      } finally {
        await pool.query('DROP TRIGGER pipeline_refuse ON _valet_changes');
      }
    }
    expect((await call('mutation', 'users:create', { email: 'after-refusal@example.com' })).status).toBe(200);
    expect(await countDocuments(engine, 'users', { email: 'after-refusal@example.com' })).toBe(1);
  });

  it('prepares a statement again on a connection where the server refused it inside a pipeline', async () => {
    const client = await pool.connect();
    try {
      const table = `pipeline_later_${process.pid}`;
      await client.query(`DROP TABLE IF EXISTS ${table}`);
      const first = new PgExecutor(client);
      first.begin('BEGIN');
      // Refused at parse (no such table), behind the BEGIN it went out with.
      await expect(first.all(`SELECT * FROM ${table}`)).rejects.toThrow(/does not exist/);
      await client.query('ROLLBACK');
      await client.query(`CREATE TABLE ${table} (n integer)`);
      await client.query(`INSERT INTO ${table} VALUES (7)`);
      const second = new PgExecutor(client);
      second.begin('BEGIN');
      expect(await second.all(`SELECT * FROM ${table}`)).toEqual([{ n: 7 }]);
      await second.commit();
      await client.query(`DROP TABLE ${table}`);
    } finally {
      client.release();
    }
  });

  it('refuses a value that cannot go on the wire before sending anything: the connection serves on', async () => {
    const client = await pool.connect();
    try {
      const circular: Record<string, unknown> = {};
      circular.self = circular;
      const sql = new PgExecutor(client);
      sql.begin('BEGIN');
      await expect(sql.all('SELECT ?::jsonb AS v', [circular])).rejects.toThrow(/circular/i);
      expect((await client.query('SELECT 3 AS n')).rows).toEqual([{ n: 3 }]);
    } finally {
      client.release();
    }
  });

  it('rolls back a transaction whose first statement failed behind its BEGIN, and the connection serves on', async () => {
    const client = await pool.connect();
    try {
      const sql = new PgExecutor(client);
      sql.begin('BEGIN');
      await expect(sql.all('SELECT 1 / 0 AS n')).rejects.toThrow(/division by zero/);
      expect(sql.transactionOpen).toBe(true);
      // The transaction is open and refused: what follows fails until it is rolled back.
      await expect(client.query('SELECT 1')).rejects.toThrow(/current transaction is aborted/);
      await client.query('ROLLBACK');
      expect((await client.query('SELECT 2 AS n')).rows).toEqual([{ n: 2 }]);
    } finally {
      client.release();
    }
  });
});
