// The change log that carries writes to the other instances' live queries: rows read in sequence
// order even when their transactions commit out of order, a number whose transaction rolled back
// given up once no transaction that could hold it is left, a reader that fell behind a prune told
// that everything changed, a change with no signal still read, and old rows pruned.
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ChangeListener,
  ChangeSignal,
  encodeNotice,
  pruneChanges,
} from '../../src/runtime/connections/postgres-changes.js';
import { PostgresConnections } from '../../src/runtime/connections/postgres.js';
import type { DocumentChange } from '../../src/storage/documents.js';
import { removeTempDirs } from '../helpers/apps.js';
import { engineFor } from '../helpers/engine.js';

afterAll(removeTempDirs);

describe('the change log', async () => {
  const { engine } = await engineFor('engine-app');
  afterAll(() => engine.close());
  if (!(engine.connections instanceof PostgresConnections)) throw new Error('a PostgreSQL engine is needed');
  const config = engine.connections.pool.options as pg.ClientConfig;
  const clients: pg.Client[] = [];
  afterAll(() => Promise.all(clients.map((c) => c.end().catch(() => undefined))));
  const connect = async () => {
    const client = new pg.Client(config);
    await client.connect();
    clients.push(client);
    return client;
  };

  const change = (id: string): DocumentChange => ({
    table: 'users',
    id,
    before: null,
    after: { _id: id, _creationTime: 1, email: `${id}@example.com` },
  });
  /** Begins a transaction that has written (so it has its id) and logged `id`; returns its sequence number. */
  const logInTransaction = async (client: pg.Client, id: string) => {
    await client.query('BEGIN');
    await client.query('SELECT pg_current_xact_id()');
    const { rows } = await client.query('INSERT INTO _valet_changes (payload) VALUES ($1) RETURNING seq', [
      encodeNotice('writer', [change(id)], null),
    ]);
    return Number(rows[0].seq);
  };

  const delivered: DocumentChange[] = [];
  const listener = new ChangeListener(
    config,
    'listener',
    (changes) => delivered.push(...changes),
    () => undefined,
  );
  await listener.start();
  afterAll(() => listener.stop());
  const ids = () => delivered.map((c) => c.id);

  it('delivers a row whose transaction committed after a later one, once it commits', async () => {
    const early = await connect();
    const late = await connect();
    const first = await logInTransaction(early, 'early');
    const second = await logInTransaction(late, 'late');
    expect(second).toBeGreaterThan(first);
    await late.query('COMMIT');
    listener.catchUp();
    await expect.poll(ids).toContain('late');
    expect(ids()).not.toContain('early');
    expect(listener.gapCount).toBeGreaterThan(0);
    await early.query('COMMIT');
    listener.catchUp();
    await expect.poll(ids).toContain('early');
    await expect.poll(() => listener.gapCount).toBe(0);
  });

  it('gives up a number whose transaction rolled back, once no transaction that could hold it is left', async () => {
    const doomed = await connect();
    const kept = await connect();
    await logInTransaction(doomed, 'doomed');
    await logInTransaction(kept, 'kept');
    await kept.query('COMMIT');
    listener.catchUp();
    await expect.poll(ids).toContain('kept');
    expect(listener.gapCount).toBe(1);
    await doomed.query('ROLLBACK');
    listener.catchUp();
    await expect.poll(() => listener.gapCount).toBe(0);
    expect(ids()).not.toContain('doomed');
  });

  it('reads a change nobody signalled (its writer died after COMMIT) within its poll', async () => {
    const writer = await connect();
    await logInTransaction(writer, 'unsignalled');
    await writer.query('COMMIT');
    // No NOTIFY and no catchUp(): only the listener's own poll finds it.
    await expect.poll(ids).toContain('unsignalled');
  });

  it('counts everything as changed when rows it never read were pruned', async () => {
    const writer = await connect();
    const before = delivered.length;
    await writer.query('BEGIN');
    let upTo = '';
    for (const id of ['pruned-1', 'pruned-2', 'pruned-3']) {
      const { rows } = await writer.query('INSERT INTO _valet_changes (payload) VALUES ($1) RETURNING seq::text', [
        encodeNotice('writer', [change(id)], null),
      ]);
      upTo = rows[0].seq;
    }
    // Pruned as a writer prunes, before this listener read them.
    await pruneChanges(writer, upTo);
    await writer.query('INSERT INTO _valet_changes (payload) VALUES ($1)', [
      encodeNotice('writer', [change('after-prune')], null),
    ]);
    await writer.query('COMMIT');
    listener.catchUp();
    await expect.poll(ids).toContain('after-prune');
    expect(delivered.slice(before)).toContainEqual(expect.objectContaining({ table: '*', coarse: true }));
    expect(ids()).not.toContain('pruned-1');
  });

  it('does not hand an instance its own changes', async () => {
    const writer = await connect();
    await writer.query('INSERT INTO _valet_changes (payload) VALUES ($1)', [
      encodeNotice('listener', [change('own')], null),
    ]);
    await writer.query('INSERT INTO _valet_changes (payload) VALUES ($1)', [
      encodeNotice('writer', [change('theirs')], null),
    ]);
    listener.catchUp();
    await expect.poll(ids).toContain('theirs');
    expect(ids()).not.toContain('own');
  });

  it('signals after a commit, naming its schema, and prunes rows older than the retention', async () => {
    const heard: string[] = [];
    const other = await connect();
    other.on('notification', (message) => heard.push(`${message.channel} ${message.payload}`));
    await other.query('LISTEN valet_changes');
    const signal = new ChangeSignal(
      config,
      () => undefined,
      () => Date.now(),
      { retentionMs: 0, markEveryMs: 0 },
    );
    afterAll(() => signal.stop());
    const writer = await connect();
    const seqs: number[] = [];
    for (const id of ['old-1', 'old-2', 'newest']) {
      const { rows } = await writer.query('INSERT INTO _valet_changes (payload) VALUES ($1) RETURNING seq', [
        encodeNotice('writer', [change(id)], null),
      ]);
      seqs.push(Number(rows[0].seq));
      signal.committed(String(rows[0].seq));
    }
    // The signal names the schema: apps sharing a database (schemas of their own) ignore each other's.
    const { rows: here } = await other.query('SELECT current_schema() AS schema');
    await expect.poll(() => heard).toContain(`valet_changes ${here[0].schema}`);
    const remaining = async () =>
      (await writer.query('SELECT seq FROM _valet_changes WHERE seq = ANY($1::bigint[])', [seqs])).rows.map((r) =>
        Number(r.seq),
      );
    // Every mark but the newest is past a zero retention: rows up to the one before it go.
    await expect.poll(remaining).toEqual([seqs[2]]);
  });
});
