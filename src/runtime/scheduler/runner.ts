// Dispatches ctx.scheduler work when it is due, as the system (source 'scheduler'). Rows live
// in the database, so scheduled work survives restarts; each is claimed by one instance (SKIP
// LOCKED on PostgreSQL), and a row whose instance died while running it is run again
// (at-least-once, runtime/instances.ts), like any interrupted delivery.
import type { Invoker } from '../../server/ctx.js';
import type { FunctionKind } from '../../server/functions.js';
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
}

export type Invoke = (kind: FunctionKind, path: string, args: unknown, invoker: Invoker) => Promise<CallResponse>;

const MAX_WAIT_MS = 1_000;
const BATCH = 50;

export class ScheduledRunner {
  private readonly loop: Loop;

  constructor(
    private readonly connections: Connections,
    private readonly clock: Clock,
    private readonly invoke: Invoke,
    log: (line: string) => void,
    private readonly instance: string | null = null,
  ) {
    this.loop = new Loop(clock, () => this.round(), (error) => log(`scheduler: ${error.message}`));
  }

  /** Runs everything due now; returns how long until the next scheduled row (at most a second). */
  async round(): Promise<number> {
    const now = this.clock.now();
    // One statement claims the batch; on PostgreSQL, rows another instance is claiming are skipped.
    const due = await this.connections.inWriteTransaction(
      (store) =>
        store.sql.all<DueRow>(
          `UPDATE _valet_scheduled SET status = 'running', attempts = attempts + 1, instance = ?
           WHERE id IN (SELECT id FROM _valet_scheduled WHERE status = 'pending' AND run_at <= ? ORDER BY run_at LIMIT ? ${store.dialect.skipLocked})
           RETURNING id, function, kind, args, run_at`,
          [this.instance, now, BATCH],
        ),
      { readCommitted: true },
    );
    await Promise.all(due.map((row) => this.dispatch(row, now)));
    if (due.length === BATCH) return 0;
    const next = await this.nextDueAt();
    return next === null ? MAX_WAIT_MS : Math.min(MAX_WAIT_MS, Math.max(0, next - this.clock.now()));
  }

  private async dispatch(row: DueRow, dispatchedAt: number): Promise<void> {
    const invoker: Invoker = { type: 'system', source: 'scheduler', scheduledAt: row.run_at, dispatchedAt };
    const response = await this.invoke(row.kind, row.function, JSON.parse(row.args), invoker);
    const error = response.status === 200 ? null : JSON.stringify(response.body);
    await this.connections.inWriteTransaction((store) =>
      store.sql.run('UPDATE _valet_scheduled SET status = ?, finished_at = ?, error = ? WHERE id = ?', [error ? 'failed' : 'done', this.clock.now(), error, row.id]),
    );
  }

  /** When the next pending call is due, or null when nothing is pending. */
  async nextDueAt(): Promise<number | null> {
    const row = await this.connections.autoCommit.sql.get<{ at: number | null }>("SELECT MIN(run_at) AS at FROM _valet_scheduled WHERE status = 'pending'");
    return row?.at ?? null;
  }

  start(): void {
    this.loop.start();
  }

  wake(): void {
    this.loop.wake();
  }

  stop(): Promise<void> {
    return this.loop.stop();
  }
}
