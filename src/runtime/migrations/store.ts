// _valet_migrations: each data migration's progress — its cursor (where the next batch starts),
// counts, state, and the claim of the one runner allowed at a time (a lease on the database's
// clock and a token every batch's commit must still match).
import type { SqlExecutor } from '../../storage/sql.js';

export type MigrationStatus = 'pending' | 'running' | 'paused' | 'done' | 'failed';

export interface MigrationRow {
  name: string;
  table_name: string;
  status: Exclude<MigrationStatus, 'pending'>;
  cursor: string | null;
  processed: number;
  changed: number;
  started_at: number;
  updated_at: number;
  finished_at: number | null;
  error: string | null;
  runner: string | null;
  lease_until: number | null;
  token: number;
}

/** What `valet migrate --list`, /admin/migrations and the dashboard show. */
export interface MigrationState {
  name: string;
  table: string;
  status: MigrationStatus;
  processed: number;
  changed: number;
  startedAt: string | null;
  updatedAt: string | null;
  finishedAt: string | null;
  error: string | null;
  /** Who holds it now (a running migration). */
  runner: string | null;
  /** Whether valet/ still defines it (a finished one may have been removed since). */
  defined: boolean;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(Number(ms)).toISOString());

export function toState(row: MigrationRow, defined: boolean): MigrationState {
  return {
    name: row.name,
    table: row.table_name,
    status: row.status,
    processed: Number(row.processed),
    changed: Number(row.changed),
    startedAt: iso(row.started_at),
    updatedAt: iso(row.updated_at),
    finishedAt: iso(row.finished_at),
    error: row.error,
    runner: row.status === 'running' ? row.runner : null,
    defined,
  };
}

export function getMigrationRow(sql: SqlExecutor, name: string): Promise<MigrationRow | undefined> {
  return sql.get<MigrationRow>('SELECT * FROM _valet_migrations WHERE name = ?', [name]);
}

export function migrationRows(sql: SqlExecutor): Promise<MigrationRow[]> {
  return sql.all<MigrationRow>('SELECT * FROM _valet_migrations ORDER BY started_at, name');
}

/** Every defined migration (pending when never run) and every one that ran, defined or not. */
export async function listMigrations(
  sql: SqlExecutor,
  defined: ReadonlyMap<string, { table: string }>,
): Promise<MigrationState[]> {
  const rows = new Map((await migrationRows(sql)).map((row) => [row.name, row]));
  const states: MigrationState[] = [...defined].map(([name, migration]) => {
    const row = rows.get(name);
    return row
      ? toState(row, true)
      : {
          name,
          table: migration.table,
          status: 'pending',
          processed: 0,
          changed: 0,
          startedAt: null,
          updatedAt: null,
          finishedAt: null,
          error: null,
          runner: null,
          defined: true,
        };
  });
  for (const [name, row] of rows) if (!defined.has(name)) states.push(toState(row, false));
  return states;
}
