// Which servers are alive on a database. Each engine is a row in _valet_instances with a heartbeat,
// and every piece of work in progress (an action invocation, a scheduled call, a cron run, an
// email being sent) names the instance doing it. Work whose instance is not alive — its heartbeat
// older than the TTL, its row gone, or no instance at all — can never finish: invocations become
// `interrupted`, scheduled calls go back to pending, cron runs are marked interrupted. A live
// instance's work is never touched, so several instances share one PostgreSQL database safely.
// On SQLite one server owns the file, so a server starting treats every other instance as gone.
// On PostgreSQL liveness is judged by the database's clock alone, inside the statements: an
// instance whose own clock is off can neither look dead to the others nor declare them dead.
import { ERROR_CODES } from '../protocol/error-codes.js';
import { hostname } from 'node:os';
import { newId } from '../storage/ids.js';
import type { DocumentStore } from '../storage/documents.js';
import type { SqlExecutor } from '../storage/sql.js';
import type { Clock } from './clock.js';
import type { Connections } from './connections/types.js';
import { INTERRUPTED_ERROR } from './invocations/store.js';
import { Loop } from './loop.js';

export interface InstanceOptions {
  /** How often the heartbeat is written (default 5 s). */
  heartbeatMs?: number;
  /** How long without a heartbeat before an instance counts as dead (default 30 s). */
  ttlMs?: number;
}

/** Heartbeats and reaping run on the engine's own connection, never queued behind callers' work. */
const SYSTEM = { system: true } as const;
/**
 * A heartbeat is one UPDATE of the instance's own row: it needs no serializable snapshot, and must
 * not be aborted as a false positive among busy serializable writers. Against a reap it still
 * loses or wins whole: a reap that deleted the row first leaves it 0 rows (this one re-registers);
 * a heartbeat that committed first makes the reap's delete of that row conflict and run again.
 */
const HEARTBEAT = { system: true, readCommitted: true } as const;

/** How long without a heartbeat before an instance counts as dead, unless configured. */
export const DEFAULT_TTL_MS = 30_000;

export interface Reaped {
  instances: number;
  invocations: number;
  scheduled: number;
  cronRuns: number;
}

/** Rows whose instance is not in the live set, for a table with an `instance` column. */
const ORPHANED = (liveSet: string) => `status = 'running' AND (instance IS NULL OR instance NOT IN (${liveSet}))`;

/** "Now" in a statement about liveness: the database's clock on PostgreSQL, the bound `now` on SQLite. */
function nowIn(sql: SqlExecutor): string {
  return sql.dialect.name === 'postgres'
    ? 'CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS double precision)'
    : 'CAST(? AS REAL)';
}

/** The bound parameters that go with nowIn(sql). */
function nowParams(sql: SqlExecutor, now: number): number[] {
  return sql.dialect.name === 'postgres' ? [] : [now];
}

/** Reaps, in the caller's transaction, the work of every instance not live at `now` (SQLite) or the database's now (PostgreSQL). */
export async function reapDeadInstances(
  sql: SqlExecutor,
  me: string,
  now: number,
  ttlMs: number,
  everyoneElse: boolean,
): Promise<Reaped> {
  const live = everyoneElse
    ? 'SELECT CAST(? AS TEXT)'
    : `SELECT id FROM _valet_instances WHERE id = ? OR heartbeat_at >= ${nowIn(sql)} - ?`;
  const params = everyoneElse ? [me] : [me, ...nowParams(sql, now), ttlMs];
  const invocations = await sql.run(
    `UPDATE _valet_action_invocations SET status = 'interrupted', http_status = ?, error = ?, finished_at = ?, duration_ms = ? - started_at WHERE ${ORPHANED(live)}`,
    [ERROR_CODES.interrupted.status, JSON.stringify(INTERRUPTED_ERROR), now, now, ...params],
  );
  const scheduled = await sql.run(
    `UPDATE _valet_scheduled SET status = 'pending', instance = NULL WHERE ${ORPHANED(live)}`,
    params,
  );
  const cronRuns = await sql.run(
    `UPDATE _valet_cron_runs SET status = 'interrupted', finished_at = ? WHERE ${ORPHANED(live)}`,
    [now, ...params],
  );
  const instances = await sql.run(`DELETE FROM _valet_instances WHERE id NOT IN (${live})`, params);
  return {
    instances: instances.changes,
    invocations: invocations.changes,
    scheduled: scheduled.changes,
    cronRuns: cronRuns.changes,
  };
}

export class InstanceRegistry {
  readonly id = newId();
  private readonly heartbeatMs: number;
  private readonly ttlMs: number;
  /** Writes the heartbeat, and nothing else: nothing may hold it up. */
  private readonly loop: Loop;
  /** The database clock and reaping, at the heartbeat's pace. */
  private readonly upkeepLoop: Loop;
  private reaping = false;
  /** Since when this instance's heartbeats have been landing without a failure (null: the last one failed). */
  private healthySince: number | null = null;

  constructor(
    private readonly connections: Connections,
    private readonly clock: Clock,
    private readonly log: (line: string) => void,
    options: InstanceOptions = {},
    /** Runs with every heartbeat (the database clock measures its offset again). */
    private readonly onBeat?: () => Promise<void>,
  ) {
    this.heartbeatMs = options.heartbeatMs ?? 5_000;
    this.ttlMs = options.ttlMs ?? DEFAULT_TTL_MS;
    this.loop = new Loop(
      clock,
      () => this.beat(),
      (error) => log(`instance heartbeat failed: ${error.message}`),
    );
    this.upkeepLoop = new Loop(
      clock,
      () => this.upkeep(),
      (error) => log(`instance upkeep failed: ${error.message}`),
    );
  }

  /** Joins the database's instances; the heartbeat starts. */
  async register(): Promise<void> {
    await this.connections.inWriteTransaction((store) => this.insert(store.sql), SYSTEM);
    this.healthySince = this.clock.now();
    this.loop.start();
    this.upkeepLoop.start();
  }

  private insert(sql: SqlExecutor) {
    const now = this.clock.now();
    return sql.run(
      `INSERT INTO _valet_instances (id, started_at, heartbeat_at, pid, hostname) VALUES (?, ?, ${nowIn(sql)}, ?, ?)`,
      [this.id, now, ...nowParams(sql, now), process.pid, hostname()],
    );
  }

  /**
   * Takes over dead instances' work now, and from then on with every heartbeat. `everyoneElse`
   * (a SQLite server starting: it owns the file) treats every other instance as dead at once.
   */
  async startReaping(everyoneElse: boolean): Promise<Reaped> {
    const reaped = await this.reap(everyoneElse);
    this.reaping = true;
    return reaped;
  }

  private async reap(everyoneElse: boolean): Promise<Reaped> {
    const reaped = await this.connections.inWriteTransaction(async (store) => {
      // A row locked by a frozen instance must not hold this instance's heartbeat loop (and so make
      // it look dead too): give up after half the TTL and try again with the next heartbeat.
      if (store.dialect.name === 'postgres')
        await store.sql.run(`SET LOCAL lock_timeout = ${Math.max(100, Math.round(this.ttlMs / 2))}`);
      return reapDeadInstances(store.sql, this.id, this.clock.now(), this.ttlMs, everyoneElse);
    }, SYSTEM);
    // Said once it committed (a transaction retried after a conflict runs its task again).
    if (reaped.instances > 0) {
      this.log(
        `took over from ${reaped.instances} stopped instance${reaped.instances === 1 ? '' : 's'}: ${reaped.invocations} interrupted invocations, ${reaped.scheduled} scheduled calls to run again, ${reaped.cronRuns} interrupted cron runs`,
      );
    }
    return reaped;
  }

  private async beat(): Promise<number> {
    let changes: number;
    try {
      const write = (store: DocumentStore) =>
        store.sql.run(`UPDATE _valet_instances SET heartbeat_at = ${nowIn(store.sql)} WHERE id = ?`, [
          ...nowParams(store.sql, this.clock.now()),
          this.id,
        ]);
      ({ changes } = await this.connections.inWriteTransaction(write, HEARTBEAT));
    } catch (error) {
      this.healthySince = null;
      throw error;
    }
    this.healthySince ??= this.clock.now();
    if (changes === 0) {
      // Another instance saw this one as dead (a pause longer than the TTL) and took over its work;
      // the fences (claims/fence.ts) keep this one from finishing any of it.
      this.log(
        'this instance missed its heartbeat for longer than the TTL: other instances took over its running work',
      );
      await this.connections.inWriteTransaction((store) => this.insert(store.sql), SYSTEM);
    }
    return this.heartbeatMs;
  }

  /**
   * What goes with the heartbeat's pace but must never hold it up: measuring the database clock
   * again, and taking over from dead instances (a reap may wait for locks, or run again after a
   * conflict, for seconds on a busy database; a heartbeat that waited for it would make this
   * instance look dead in turn).
   */
  private async upkeep(): Promise<number> {
    await this.onBeat?.().catch((error: Error) => this.log(`measuring the database clock failed: ${error.message}`));
    // A reap that failed (a lock held by a frozen instance, a blip) is tried again next round.
    // Only once this instance has reached the database for a whole TTL: after an outage nobody
    // could heartbeat, and the others must get the chance to before any of them is taken for dead.
    if (this.reaping && this.healthySince !== null && this.clock.now() - this.healthySince >= this.ttlMs)
      await this.reap(false).catch((error: Error) =>
        this.log(`taking over from stopped instances failed (tried again with the next heartbeat): ${error.message}`),
      );
    return this.heartbeatMs;
  }

  /** Stops writing the heartbeat (after the TTL, other instances take over this one's work). */
  async stopHeartbeat(): Promise<void> {
    await Promise.all([this.loop.stop(), this.upkeepLoop.stop()]);
  }

  /** Leaves the database's instances (its work is finished by then). */
  async stop(): Promise<void> {
    await this.stopHeartbeat();
    await this.connections
      .inWriteTransaction((store) => store.sql.run('DELETE FROM _valet_instances WHERE id = ?', [this.id]))
      .catch(() => undefined);
  }
}
