// Dispatches ctx.scheduler work when it is due, as the system (source 'scheduler'). Rows live in
// the database, so scheduled work survives restarts. Each is claimed by one instance (SKIP LOCKED
// on PostgreSQL) with its attempt number as the fencing token (claims/fence.ts): a scheduled
// mutation's writes and its done mark commit in one transaction conditioned on the claim, so it
// runs exactly once whatever pauses; an action's writes are refused once its claim is lost, and a
// row whose instance died while running it is run again (at-least-once for its side effects). A
// failure that decided nothing (the database was out of reach), or where the database broke off
// mid-way, puts the row back, due again after a backoff. Calls run side by side up to a limit, so a slow one never holds back other due work.
import type { Invoker } from '../../server/ctx.js';
import type { FunctionKind } from '../../server/functions.js';
import { TRANSIENT_CODES } from '../../storage/faults.js';
import { rowFence } from '../claims/fence.js';
import { noteScheduledChange } from './system-table.js';
import { parseCause } from '../calls/current.js';
import type { CallParent, CallSource } from '../calls/record.js';
import type { Fence } from '../claims/fence.js';
import type { LastingWrites } from '../claims/lasting-write.js';
import type { Clock } from '../clock.js';
import type { Connections } from '../connections/types.js';
import type { CallResponse } from '../call/types.js';
import { Loop } from '../loop.js';

interface DueRow {
  id: string;
  function: string;
  kind: FunctionKind;
  args: string;
  run_at: number;
  attempts: number;
  caused_by: string | null;
}

export type Invoke = (
  kind: FunctionKind,
  path: string,
  args: unknown,
  invoker: Invoker,
  fence?: Fence,
  origin?: { source: CallSource; parent: CallParent | null },
) => Promise<CallResponse>;

/** What a worker that claims work and calls functions for it needs (the scheduler, crons). */
export interface ClaimingWorkerOptions {
  connections: Connections;
  clock: Clock;
  invoke: Invoke;
  log: (line: string) => void;
  /** The instance claiming (runtime/instances.ts), recorded on each row it runs. */
  instance?: string | null;
  lasting: LastingWrites;
  onLostClaim: (label: string) => void;
}

export interface ScheduledRunnerOptions extends ClaimingWorkerOptions {
  /** Calls running at once (default 10). */
  concurrency?: number;
}

const MAX_WAIT_MS = 1_000;
/** A call that failed for want of the database is due again after this, doubling per attempt up to a minute. */
const RETRY_BASE_MS = 1_000;
const RETRY_CAP_MS = 60_000;

/** Failures where the database broke off mid-way: the call runs again, like one whose instance died. */
const RUN_AGAIN = new Set(['outcome_unknown', 'storage_interrupted']);

/** The claim still held: this attempt's row, running. */
const CLAIMED = "WHERE id = ? AND attempts = ? AND status = 'running'";

export class ScheduledRunner {
  private readonly loop: Loop;
  private readonly concurrency: number;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly options: ScheduledRunnerOptions) {
    this.concurrency = options.concurrency ?? 10;
    this.loop = new Loop(
      options.clock,
      async () => (await this.pump()).delay,
      (error) => options.log(`scheduler: ${error.message}`),
    );
  }

  private claim(limit: number): Promise<DueRow[]> {
    const now = this.options.clock.now();
    // One statement claims the batch; on PostgreSQL, rows another instance is claiming are skipped.
    return this.options.connections.inWriteTransaction(
      async (store) => {
        const rows = await store.sql.all<DueRow>(
          `UPDATE _valet_scheduled SET status = 'running', attempts = attempts + 1, instance = ?
           WHERE id IN (SELECT id FROM _valet_scheduled WHERE status = 'pending' AND run_at <= ? ORDER BY run_at LIMIT ? ${store.dialect.skipLocked})
           RETURNING id, function, kind, args, run_at, attempts, caused_by`,
          [this.options.instance ?? null, now, limit],
        );
        for (const row of rows) noteScheduledChange(store, row.id);
        return rows;
      },
      { readCommitted: true },
    );
  }

  /** Fills the free lanes with due calls (never waiting for them); how long until it should look again. */
  private async pump(): Promise<{ claimed: number; delay: number }> {
    const free = this.concurrency - this.inFlight.size;
    if (free <= 0) return { claimed: 0, delay: MAX_WAIT_MS };
    const dispatchedAt = this.options.clock.now();
    const due = await this.claim(free);
    for (const row of due) this.launch(row, dispatchedAt);
    // Every lane taken: a call finishing wakes the loop.
    if (due.length === free) return { claimed: due.length, delay: MAX_WAIT_MS };
    const next = await this.nextDueAt();
    return {
      claimed: due.length,
      delay: next === null ? MAX_WAIT_MS : Math.min(MAX_WAIT_MS, Math.max(0, next - this.options.clock.now())),
    };
  }

  private launch(row: DueRow, dispatchedAt: number): void {
    const work = this.dispatch(row, dispatchedAt).catch((error: Error) =>
      this.options.log(`scheduler: ${row.function}: ${error.message}`),
    );
    this.inFlight.add(work);
    void work.finally(() => {
      this.inFlight.delete(work);
      this.loop.wake();
    });
  }

  private async dispatch(row: DueRow, dispatchedAt: number): Promise<void> {
    const { clock, connections } = this.options;
    const label = `scheduled call ${row.id} (${row.function})`;
    // A mutation's done mark is its fence: it commits with the mutation's writes, or neither does.
    const fence =
      row.kind === 'mutation'
        ? rowFence(
            label,
            `UPDATE _valet_scheduled SET status = 'done', finished_at = ?, error = NULL ${CLAIMED}`,
            () => [clock.now(), row.id, row.attempts],
            (store) => noteScheduledChange(store, row.id),
          )
        : rowFence(label, `SELECT 1 AS held FROM _valet_scheduled ${CLAIMED}`, () => [row.id, row.attempts]);
    const invoker: Invoker = { type: 'system', source: 'scheduler', scheduledAt: row.run_at, dispatchedAt };
    const response = await this.options.invoke(row.kind, row.function, JSON.parse(row.args), invoker, fence, {
      source: 'scheduler',
      parent: parseCause(row.caused_by),
    });
    if (response.status === 200 && row.kind === 'mutation') return;
    const code = (response.body as { code?: string }).code ?? '';
    if (code === 'claim_lost') return this.options.onLostClaim(label);
    let statement: string;
    let params: () => unknown[];
    if (response.status === 200) {
      statement = `UPDATE _valet_scheduled SET status = 'done', finished_at = ?, error = NULL ${CLAIMED}`;
      params = () => [clock.now(), row.id, row.attempts];
    } else if (TRANSIENT_CODES.has(code) || RUN_AGAIN.has(code)) {
      // Nothing was decided, or the database broke off mid-way: due again later, claimed afresh (a
      // new attempt number). A mutation that did commit already carries its done mark, so the
      // fenced update below changes nothing; an action runs again (at least once).
      const retryAt = clock.now() + Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** (row.attempts - 1));
      statement = `UPDATE _valet_scheduled SET status = 'pending', run_at = ?, instance = NULL, error = ? ${CLAIMED}`;
      params = () => [retryAt, JSON.stringify(response.body), row.id, row.attempts];
    } else {
      statement = `UPDATE _valet_scheduled SET status = 'failed', finished_at = ?, error = ? ${CLAIMED}`;
      params = () => [clock.now(), JSON.stringify(response.body), row.id, row.attempts];
    }
    await this.options.lasting.land(label, async () => {
      const { changes } = await connections.inWriteTransaction(async (store) => {
        const result = await store.sql.run(statement, params());
        if (result.changes > 0) noteScheduledChange(store, row.id);
        return result;
      });
      if (changes === 0) this.options.onLostClaim(label);
    }).done;
  }

  /** When the next pending call is due, or null when nothing is pending. */
  async nextDueAt(): Promise<number | null> {
    const row = await this.options.connections.autoCommit.sql.get<{ at: number | null }>(
      "SELECT MIN(run_at) AS at FROM _valet_scheduled WHERE status = 'pending'",
    );
    return row?.at ?? null;
  }

  /** Runs everything due now and waits for it (tests and valet/testing drive time, then call this). */
  async round(): Promise<number> {
    for (;;) {
      const { claimed, delay } = await this.pump();
      await this.settle();
      if (claimed < this.concurrency) return delay;
    }
  }

  /** Resolves once every dispatched call has finished. */
  async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
  }

  start(): void {
    this.loop.start();
  }

  wake(): void {
    this.loop.wake();
  }

  /** Stops claiming; calls in flight finish. */
  async stop(): Promise<void> {
    await this.loop.stop();
    await this.settle();
  }
}
