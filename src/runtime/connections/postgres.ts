// Isolation on PostgreSQL, where several Valet instances may share the database: every write
// transaction is SERIALIZABLE, so concurrent mutations behave as if they ran one after another
// (as on SQLite's single writer); when PostgreSQL detects they could not have, it aborts one
// (40001, or a deadlock 40P01) and it runs again from the start, a bounded number of times with
// jittered backoff, from the third attempt on in the conflict lane (conflict-lane.ts). Queries
// read one REPEATABLE READ, READ ONLY snapshot, which never conflicts.
import { randomBytes } from 'node:crypto';
import pgModule from 'pg';
import type pg from 'pg';
import type { SchemaDefinition } from '../../server/schema.js';
import { CreationClock, DocumentStore } from '../../storage/documents.js';
import type { DocumentChange } from '../../storage/documents.js';
import { StatementFaults } from '../../storage/fault-injection.js';
import { writeConflict } from '../../storage/faults.js';
import { checkout, guardPoolClients, PgExecutor } from '../../storage/postgres/executor.js';
import { enterConflictLane, LANE_FROM_ATTEMPT, leaveConflictLane } from './conflict-lane.js';
import { OneStatementQueries } from './one-statement.js';
import { ChangeListener, ChangeSignal, encodeNotice } from './postgres-changes.js';
import type { Connections, WriteOptions } from './types.js';

const CONFLICT_CODES = new Set(['40001', '40P01']);
/** Attempts of one write transaction before the caller gets 503 conflict_retries. */
export const MAX_WRITE_ATTEMPTS = 12;

function isConflict(error: unknown): boolean {
  return CONFLICT_CODES.has((error as { code?: string })?.code ?? '');
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class PostgresConnections implements Connections {
  readonly backend = 'postgres';
  readonly faults = new StatementFaults();
  private readonly systemPool: pg.Pool;
  readonly autoCommit: DocumentStore;
  /** Write transactions run again after a serialization conflict or deadlock, since opening. */
  retriedConflicts = 0;
  /** Attempts that ran in the conflict lane (conflict-lane.ts), since opening. */
  laneEntries = 0;
  private readonly oneStatement: OneStatementQueries;
  /** Who wrote, in change notices: this instance does not hear its own. */
  private readonly origin = randomBytes(8).toString('hex');
  private listener: ChangeListener | null = null;
  private readonly signal: ChangeSignal;
  private readonly creationClock: CreationClock;
  private readonly commitListeners = new Set<(changes: DocumentChange[]) => void>();

  constructor(
    readonly target: string,
    readonly pool: pg.Pool,
    private schema: SchemaDefinition<any> | null,
    now: () => number,
    private readonly log: (line: string) => void = () => undefined,
  ) {
    // Connections for the engine's own liveness work, apart from the callers' pool: one for the
    // heartbeat, one for what may wait (reaping, which takes locks; the clock's measure).
    this.systemPool = new pgModule.Pool({ ...pool.options, max: 2 });
    this.systemPool.on('error', (error) => this.log(`postgres: an idle connection failed: ${error.message}`));
    guardPoolClients(this.systemPool);
    this.signal = new ChangeSignal(pool.options as pg.ClientConfig, log, now);
    this.creationClock = new CreationClock(now);
    this.autoCommit = new DocumentStore(new PgExecutor(pool, this.faults), schema, this.creationClock);
    this.oneStatement = new OneStatementQueries((sql) => new DocumentStore(sql, this.schema, this.creationClock));
  }

  /** Hears this instance's commits, and (the change log, postgres-changes.ts) every other instance's. */
  onCommit(listener: (changes: DocumentChange[]) => void): () => void {
    this.commitListeners.add(listener);
    if (!this.listener) {
      this.listener = new ChangeListener(
        this.pool.options as pg.ClientConfig,
        this.origin,
        (changes) => this.publish(changes),
        this.log,
      );
      void this.listener.start();
    }
    return () => this.commitListeners.delete(listener);
  }

  private publish(changes: DocumentChange[]): void {
    for (const listener of this.commitListeners) listener(changes);
  }

  async inWriteTransaction<T>(task: (store: DocumentStore) => Promise<T>, options: WriteOptions = {}): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const { client, release } = await checkout(options.system ? this.systemPool : this.pool);
      const sql = new PgExecutor(client, this.faults);
      const store = new DocumentStore(sql, this.schema, this.creationClock);
      // Always kept: other instances may have subscribers even when this one has none.
      store.changeLog = [];
      let broken = false;
      let inLane = false;
      try {
        // The engine's own liveness work never waits for the lane (its heartbeat must keep time).
        if (attempt >= LANE_FROM_ATTEMPT && !options.system) {
          inLane = await enterConflictLane(client, this.faults);
          if (inLane) this.laneEntries++;
        }
        // Sent with the first statement (one round trip for both): executor.ts.
        sql.begin(options.readCommitted ? 'BEGIN' : 'BEGIN ISOLATION LEVEL SERIALIZABLE');
        const result = await task(store);
        // A statement that failed (and was caught by a handler) already doomed the transaction.
        if (sql.failure) throw sql.failure;
        const changes = store.changeLog;
        if (changes.length === 0) {
          await sql.commit();
          return result;
        }
        // Logged for the other instances when (and only if) this transaction commits, in the same
        // round trip as the COMMIT; signalled after. What a failure there means: PgExecutor.commit.
        const [logged] = await sql.commit<{ seq: string }>({
          sql: 'INSERT INTO _valet_changes (payload) VALUES (?) RETURNING seq::text AS seq',
          params: [encodeNotice(this.origin, changes, this.schema)],
        });
        this.signal.committed(logged!.seq);
        this.publish(changes);
        return result;
      } catch (error) {
        if (sql.transactionOpen) await client.query('ROLLBACK').catch(() => (broken = true));
        const conflict = isConflict(error) || isConflict(sql.failure);
        if (!conflict) throw error;
        if (attempt >= MAX_WRITE_ATTEMPTS) throw writeConflict(error);
        this.retriedConflicts++;
      } finally {
        if (inLane && !broken && !(await leaveConflictLane(client, this.faults))) broken = true;
        release(broken);
      }
      await sleep(Math.min(200, 2 ** attempt) * (0.5 + Math.random() / 2));
    }
  }

  /** A query that reads once runs as one statement on the pool (see one-statement.ts). */
  inReadSnapshot<T>(task: (store: DocumentStore) => Promise<T>, rerunnable?: { name: string }): Promise<T> {
    return this.oneStatement.run(
      task,
      rerunnable,
      () => new PgExecutor(this.pool, this.faults),
      (again) => this.inSnapshot(again),
    );
  }

  private async inSnapshot<T>(task: (store: DocumentStore) => Promise<T>): Promise<T> {
    const { client, release } = await checkout(this.pool);
    const sql = new PgExecutor(client, this.faults);
    let broken = false;
    try {
      sql.begin('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      return await task(new DocumentStore(sql, this.schema, this.creationClock));
    } finally {
      if (sql.transactionOpen) await client.query('COMMIT').catch(() => (broken = true));
      release(broken);
    }
  }

  setSchema(schema: SchemaDefinition<any> | null): void {
    this.schema = schema;
    this.autoCommit.setSchema(schema);
  }

  // The write-ahead log's position moves with every commit on the server (other databases' too:
  // at worst a refresh too many).
  async changeMarker(): Promise<string> {
    return (await this.autoCommit.sql.get<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn'))!.lsn;
  }

  async close(): Promise<void> {
    await Promise.all([this.listener?.stop(), this.signal.stop()]);
    await Promise.all([this.pool.end(), this.systemPool.end()]);
  }
}
