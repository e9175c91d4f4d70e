// `_scheduled_functions`, as Convex's ctx.db.system shows it: the scheduler's own rows
// (_valet_scheduled) read as documents, so an app can show a job's state (and watch it live: every
// write to a scheduled row notes a change that live queries over this table hear).
import { decodeValue } from '../../protocol/values.js';
import type { DocumentStore, StoredDocument } from '../../storage/documents.js';
import type { SystemSource } from '../system-tables.js';

export const SCHEDULED_FUNCTIONS = '_scheduled_functions';

interface Row {
  id: string;
  function: string;
  args: string;
  run_at: number;
  status: string;
  created_at: number;
  finished_at: number | null;
  error: string | null;
}

const COLUMNS = 'id, function, args, run_at, status, created_at, finished_at, error';

/** Live queries over `_scheduled_functions` hear about a write to this row when it commits. */
export function noteScheduledChange(store: DocumentStore, id: string): void {
  store.changeLog?.push({ table: SCHEDULED_FUNCTIONS, id, before: null, after: { _id: id, _creationTime: 0 } });
}

function stateOf(row: Row): Record<string, unknown> {
  switch (row.status) {
    case 'running':
      return { kind: 'inProgress' };
    case 'done':
      return { kind: 'success' };
    case 'canceled':
      return { kind: 'canceled' };
    case 'failed': {
      const body = JSON.parse(row.error ?? '{}') as { message?: string; code?: string };
      return { kind: 'failed', error: body.message ?? body.code ?? 'failed' };
    }
    default:
      return { kind: 'pending' };
  }
}

function toDocument(row: Row): StoredDocument {
  const doc: StoredDocument = {
    _id: row.id,
    _creationTime: Number(row.created_at),
    name: row.function,
    // Convex keeps the args as a one-element array.
    args: [decodeValue(JSON.parse(row.args))],
    scheduledTime: Number(row.run_at),
    state: stateOf(row),
  };
  if (row.finished_at !== null) doc.completedTime = Number(row.finished_at);
  return doc;
}

/** `_scheduled_functions` for ctx.db.system (../system-tables.ts). */
export const scheduledFunctions: SystemSource = {
  table: SCHEDULED_FUNCTIONS,
  async get(sql, id) {
    const row = await sql.get<Row>(`SELECT ${COLUMNS} FROM _valet_scheduled WHERE id = ?`, [id]);
    return row ? toDocument(row) : null;
  },
  async list(sql, descending, limit) {
    const direction = descending ? 'DESC' : 'ASC';
    const bounded = Number.isFinite(limit);
    const rows = await sql.all<Row>(
      `SELECT ${COLUMNS} FROM _valet_scheduled ORDER BY created_at ${direction}, id ${direction}${bounded ? ' LIMIT ?' : ''}`,
      bounded ? [limit] : [],
    );
    return rows.map(toDocument);
  },
};
