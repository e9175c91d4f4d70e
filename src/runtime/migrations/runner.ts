// Running data migrations: one batch per transaction (the documents' patches and the cursor's
// advance commit together, so each document is migrated exactly once however often a run is
// stopped or killed), resumed from the stored cursor, one runner at a time across processes and
// instances (a lease on the engine's clock — the database's on PostgreSQL — and a token that
// every batch's commit must still match: a runner that paused past its lease cannot commit).
import { hostname } from 'node:os';
import type { Invoker } from '../../server/ctx.js';
import type { MigrationDefinition } from '../../server/migrations.js';
import { listTables } from '../../storage/browse.js';
import { newId } from '../../storage/ids.js';
import { storageFaultOf } from '../../storage/faults.js';
import { inMutation } from '../call/run-mutation.js';
import type { EngineCore } from '../call/types.js';
import { ClaimLostError, rowFence } from '../claims/fence.js';
import { EngineError } from '../errors.js';
import { getMigrationRow } from './store.js';

/** How long a runner's claim lasts without a batch committing (each batch renews it). */
export const MIGRATION_LEASE_MS = 15_000;
/** Storage faults a run rides out (backing off) before it gives up and leaves the cursor where it is. */
const FAULT_RETRIES = 8;
const SYSTEM: Invoker = { type: 'system', source: 'admin' };

export interface MigrationProgress {
  name: string;
  phase: 'waiting' | 'running' | 'done' | 'paused';
  /** Documents gone through, by every run so far (a dry run: by this one). */
  processed: number;
  changed: number;
  /** Documents in the table when this run began. */
  total: number;
  /** The runner holding the migration while this one waits. */
  waitingFor?: string;
}

export interface MigrationOutcome {
  name: string;
  status: 'done' | 'paused' | 'already_done' | 'dry_run';
  processed: number;
  changed: number;
  /** A dry run: the first few changes it would make. */
  samples?: { _id: string; patch: unknown }[];
}

export interface RunOptions {
  dryRun?: boolean;
  /** Start again from the first document (a finished migration too). */
  restart?: boolean;
  /** Wait for another runner's claim to finish or lapse instead of refusing (the CLI does). */
  wait?: boolean;
  onProgress?: (progress: MigrationProgress) => void;
}

type Claim =
  | { kind: 'claimed'; token: number; cursor: string | null; processed: number; changed: number }
  | { kind: 'busy'; runner: string; leaseUntil: number }
  | { kind: 'done'; processed: number; changed: number };

interface Batch {
  count: number;
  changed: number;
  cursor: string;
  done: boolean;
  samples: { _id: string; patch: unknown }[];
}

/** Thrown at the end of a dry run's batch: the transaction rolls back everything it did. */
class DryRunRollback extends Error {}

/**
 * A runner of this machine whose process is gone (a `valet migrate` killed mid-run): its claim
 * is taken over at once rather than after its lease. Servers' runners are instance ids, judged
 * by their lease alone.
 */
function isDeadLocalRunner(runner: string | null): boolean {
  const match = /^(.+):(\d+):\w+$/.exec(runner ?? '');
  if (!match || match[1] !== hostname() || Number(match[2]) === process.pid) return false;
  try {
    process.kill(Number(match[2]), 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

function problemOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class MigrationRunner {
  private readonly active = new Map<string, { stop: boolean; work: Promise<unknown> }>();
  private closed = false;
  readonly runnerId: string;

  constructor(
    private readonly core: EngineCore,
    instanceId: string | null,
  ) {
    // Host and process first: a runner of this machine that died is recognised (isDeadLocalRunner).
    this.runnerId = `${hostname()}:${process.pid}:${(instanceId ?? newId()).slice(0, 10)}`;
  }

  /** The migrations this process is running now. */
  running(): string[] {
    return [...this.active.keys()];
  }

  private definition(name: string): MigrationDefinition {
    const migrations = this.core.registry.migrations;
    const definition = migrations.get(name);
    if (!definition)
      throw new EngineError(
        'not_found',
        `no migration ${name} in valet/ (${migrations.size ? `migrations: ${[...migrations.keys()].join(', ')}` : 'define one with defineMigration in valet/migrations.ts'})`,
      );
    return definition;
  }

  /** Runs one migration to its end (or until stop()), from where any earlier run stopped. */
  async run(name: string, options: RunOptions = {}): Promise<MigrationOutcome> {
    const definition = this.definition(name);
    if (this.closed) throw new EngineError('shutting_down', 'the server is shutting down');
    if (this.active.has(name)) throw new EngineError('migration_busy', `${name} is already running in this process`);
    const handle = { stop: false, work: Promise.resolve() as Promise<unknown> };
    const work = options.dryRun
      ? this.dryRun(name, definition, options)
      : this.runClaimed(name, definition, handle, options);
    handle.work = work.catch(() => undefined);
    this.active.set(name, handle);
    try {
      return await work;
    } finally {
      this.active.delete(name);
    }
  }

  /** Runs these one after another in the background (the admin API); a failure stops the rest. */
  startAll(names: string[], options: { restart?: boolean } = {}): void {
    for (const name of names) this.definition(name);
    const busy = names.find((name) => this.active.has(name));
    if (busy) throw new EngineError('migration_busy', `${busy} is already running in this process`);
    void (async () => {
      for (const name of names) {
        try {
          const outcome = await this.run(name, { restart: options.restart });
          if (outcome.status === 'paused') return;
        } catch (error) {
          this.core.log(`migration ${name} stopped: ${problemOf(error)}`);
          return;
        }
      }
    })();
  }

  /** Stops every running migration after its current batch (it can be resumed); waits for them. */
  async stop(): Promise<void> {
    this.closed = true;
    for (const handle of this.active.values()) handle.stop = true;
    await Promise.all([...this.active.values()].map((handle) => handle.work));
  }

  private async runClaimed(
    name: string,
    definition: MigrationDefinition,
    handle: { stop: boolean },
    options: RunOptions,
  ): Promise<MigrationOutcome> {
    const total = await this.countDocuments(definition.table);
    let claim = await this.claim(name, definition, options.restart ?? false);
    while (claim.kind === 'busy') {
      if (!options.wait)
        throw new EngineError(
          'migration_busy',
          `${name} is being run by ${claim.runner} (its lease runs until ${new Date(claim.leaseUntil).toISOString()})`,
        );
      options.onProgress?.({ name, phase: 'waiting', processed: 0, changed: 0, total, waitingFor: claim.runner });
      await this.sleep(Math.min(500, Math.max(50, claim.leaseUntil - this.core.clock.now() + 10)));
      if (handle.stop) return { name, status: 'paused', processed: 0, changed: 0 };
      claim = await this.claim(name, definition, options.restart ?? false);
    }
    if (claim.kind === 'done')
      return { name, status: 'already_done', processed: claim.processed, changed: claim.changed };
    const { token } = claim;
    let { cursor, processed, changed } = claim;
    let ranThis = 0;
    let changedThis = 0;
    for (;;) {
      if (handle.stop) {
        await this.release(name, token);
        options.onProgress?.({ name, phase: 'paused', processed, changed, total });
        return { name, status: 'paused', processed: ranThis, changed: changedThis };
      }
      const batch = await this.batchRidingFaults(name, definition, cursor, token);
      processed += batch.count;
      changed += batch.changed;
      ranThis += batch.count;
      changedThis += batch.changed;
      cursor = batch.cursor;
      options.onProgress?.({ name, phase: batch.done ? 'done' : 'running', processed, changed, total });
      if (batch.done) return { name, status: 'done', processed: ranThis, changed: changedThis };
    }
  }

  /** A batch, tried again through storage faults (nothing of it committed); other failures stop the run. */
  private async batchRidingFaults(
    name: string,
    definition: MigrationDefinition,
    cursor: string | null,
    token: number,
  ): Promise<Batch> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.batch(name, definition, cursor, token);
      } catch (error) {
        if (error instanceof ClaimLostError)
          throw new EngineError(
            'migration_busy',
            `${name} was taken over by another runner (this one paused past its lease): its last batch was not committed`,
          );
        if (storageFaultOf(error) && attempt < FAULT_RETRIES) {
          await this.sleep(Math.min(5_000, 100 * 2 ** attempt));
          continue;
        }
        if (storageFaultOf(error)) throw error;
        const message = problemOf(error);
        await this.markFailed(name, token, message);
        throw new EngineError(
          'migration_failed',
          `${name}: ${message} (the batch rolled back; fix it and run valet migrate ${name} again to resume)`,
        );
      }
    }
  }

  private async batch(
    name: string,
    definition: MigrationDefinition,
    cursor: string | null,
    token: number,
    dryRun = false,
  ): Promise<Batch> {
    let result: Batch | null = null;
    const now = () => this.core.clock.now();
    // The batch's last statement: it moves the cursor and renews the lease only while this
    // runner's token still holds, or rolls the whole batch back.
    const fence = dryRun
      ? undefined
      : rowFence(
          `migration ${name}`,
          "UPDATE _valet_migrations SET cursor = ?, processed = processed + ?, changed = changed + ?, updated_at = ?, lease_until = ?, status = ?, finished_at = ?, runner = ? WHERE name = ? AND token = ? AND status = 'running'",
          () => {
            const batch = result!;
            const at = now();
            return [
              batch.cursor,
              batch.count,
              batch.changed,
              at,
              batch.done ? null : at + MIGRATION_LEASE_MS,
              batch.done ? 'done' : 'running',
              batch.done ? at : null,
              batch.done ? null : this.runnerId,
              name,
              token,
            ];
          },
        );
    await inMutation(
      this.core,
      `migration ${name}`,
      SYSTEM,
      async (ctx: any) => {
        result = null;
        const page = await ctx.db.query(definition.table).paginate({ numItems: definition.batchSize, cursor });
        let changed = 0;
        const samples: Batch['samples'] = [];
        for (const doc of page.page) {
          let patch: unknown;
          try {
            patch = await definition.migrateOne(ctx, doc);
          } catch (error) {
            throw new Error(`migrateOne failed on ${doc._id}: ${problemOf(error)}`);
          }
          if (patch === undefined || patch === null) continue;
          if (typeof patch !== 'object' || Array.isArray(patch))
            throw new Error(
              `migrateOne returned ${Array.isArray(patch) ? 'an array' : typeof patch} for ${doc._id}: return the fields to patch, or nothing`,
            );
          if (Object.keys(patch).length === 0) continue;
          await ctx.db.patch(doc._id, patch);
          changed++;
          if (samples.length < 5) samples.push({ _id: doc._id, patch });
        }
        result = { count: page.page.length, changed, cursor: page.continueCursor, done: page.isDone, samples };
        if (dryRun) throw new DryRunRollback();
      },
      { fence },
    ).catch((error) => {
      if (!(error instanceof DryRunRollback)) throw error;
    });
    return result!;
  }

  /** Every batch in a transaction that rolls back: what would change, nothing written. */
  private async dryRun(name: string, definition: MigrationDefinition, options: RunOptions): Promise<MigrationOutcome> {
    const total = await this.countDocuments(definition.table);
    let cursor: string | null = null;
    let processed = 0;
    let changed = 0;
    const samples: Batch['samples'] = [];
    for (;;) {
      let batch: Batch;
      try {
        batch = await this.batch(name, definition, cursor, 0, true);
      } catch (error) {
        if (storageFaultOf(error)) throw error;
        throw new EngineError('migration_failed', `${name} (dry run): ${problemOf(error)}`);
      }
      processed += batch.count;
      changed += batch.changed;
      samples.push(...batch.samples.slice(0, 5 - samples.length));
      cursor = batch.cursor;
      options.onProgress?.({ name, phase: batch.done ? 'done' : 'running', processed, changed, total });
      if (batch.done) return { name, status: 'dry_run', processed, changed, samples };
    }
  }

  private claim(name: string, definition: MigrationDefinition, restart: boolean): Promise<Claim> {
    return this.core.connections.inWriteTransaction(async (store) => {
      const sql = store.sql;
      const row = await getMigrationRow(sql, name);
      const now = this.core.clock.now();
      const leaseUntil = now + MIGRATION_LEASE_MS;
      if (
        row?.status === 'running' &&
        row.runner !== this.runnerId &&
        Number(row.lease_until ?? 0) > now &&
        !isDeadLocalRunner(row.runner)
      )
        return { kind: 'busy', runner: row.runner ?? 'another runner', leaseUntil: Number(row.lease_until) };
      if (row?.status === 'done' && !restart)
        return { kind: 'done', processed: Number(row.processed), changed: Number(row.changed) };
      if (!row) {
        const { changes } = await sql.run(
          "INSERT INTO _valet_migrations (name, table_name, status, cursor, processed, changed, started_at, updated_at, runner, lease_until, token) VALUES (?, ?, 'running', NULL, 0, 0, ?, ?, ?, ?, 1) ON CONFLICT (name) DO NOTHING",
          [name, definition.table, now, now, this.runnerId, leaseUntil],
        );
        // Another runner inserted it meanwhile: ask again shortly.
        if (changes === 0) return { kind: 'busy', runner: 'another runner', leaseUntil: now + 100 };
        return { kind: 'claimed', token: 1, cursor: null, processed: 0, changed: 0 };
      }
      const token = Number(row.token) + 1;
      if (restart) {
        await sql.run(
          "UPDATE _valet_migrations SET status = 'running', cursor = NULL, processed = 0, changed = 0, started_at = ?, updated_at = ?, finished_at = NULL, error = NULL, runner = ?, lease_until = ?, token = ?, table_name = ? WHERE name = ?",
          [now, now, this.runnerId, leaseUntil, token, definition.table, name],
        );
        return { kind: 'claimed', token, cursor: null, processed: 0, changed: 0 };
      }
      await sql.run(
        "UPDATE _valet_migrations SET status = 'running', updated_at = ?, error = NULL, runner = ?, lease_until = ?, token = ? WHERE name = ?",
        [now, this.runnerId, leaseUntil, token, name],
      );
      return {
        kind: 'claimed',
        token,
        cursor: row.cursor,
        processed: Number(row.processed),
        changed: Number(row.changed),
      };
    });
  }

  /** A stopped run gives its claim up at once, so the next `valet migrate` resumes without waiting. */
  private async release(name: string, token: number): Promise<void> {
    await this.core.connections
      .inWriteTransaction((store) =>
        store.sql.run(
          "UPDATE _valet_migrations SET status = 'paused', runner = NULL, lease_until = NULL, updated_at = ? WHERE name = ? AND token = ? AND status = 'running'",
          [this.core.clock.now(), name, token],
        ),
      )
      .catch((error: Error) =>
        this.core.log(`migration ${name}: could not release its claim (${error.message}); it lapses by itself`),
      );
  }

  private async markFailed(name: string, token: number, message: string): Promise<void> {
    await this.core.connections
      .inWriteTransaction((store) =>
        store.sql.run(
          "UPDATE _valet_migrations SET status = 'failed', error = ?, runner = NULL, lease_until = NULL, updated_at = ? WHERE name = ? AND token = ? AND status = 'running'",
          [this.core.redact(message), this.core.clock.now(), name, token],
        ),
      )
      .catch((error: Error) => this.core.log(`migration ${name}: could not record its failure (${error.message})`));
  }

  private async countDocuments(table: string): Promise<number> {
    const tables = await listTables(this.core.connections.autoCommit.sql);
    return tables.find((t) => t.table === table)?.documents ?? 0;
  }

  /**
   * A real timer, not the engine clock's (which lets the process exit meanwhile): a `valet
   * migrate` waiting for another runner's lease or riding out a fault must stay alive.
   */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }
}
