// Documents over one SQL executor (a read snapshot, a write transaction, or auto-commit):
// reads and writes, schema validation on every write. The runtime decides which executor.
import type { SchemaDefinition } from '../server/schema.js';
import { tableDefinition } from '../server/schema.js';
import { formatValidationError, validateFields } from '../server/values.js';
import type { PropertyValidators, ValidationError } from '../server/values.js';
import type { Dialect, SqlExecutor } from './sql.js';
import { isStorableText, textProblem } from '../protocol/text.js';
import { decodeValue, encodeValue, mayHoldEncodedValues } from '../protocol/values.js';
import { newId } from './ids.js';
import { syncSearchRows } from './search-indexes.js';
import { EngineError } from '../protocol/engine-error.js';

export interface StoredDocument {
  _id: string;
  _creationTime: number;
  [field: string]: unknown;
}

interface Row {
  id: string;
  tbl: string;
  creation_time: number;
  doc: string;
}

/** The one message for a table the schema does not declare. */
export function unknownTableError(schema: SchemaDefinition<any>, table: string): EngineError {
  return new EngineError(
    'unknown_table',
    `table ${JSON.stringify(table)} is not declared in valet/schema.ts (tables: ${Object.keys(schema.tables).join(', ') || 'none'})`,
  );
}

function tableMismatch(operation: string, id: string, actual: string, expected: string): EngineError {
  return new EngineError('table_mismatch', `${operation}: "${id}" is an id of table ${actual}, not ${expected}`);
}

/** A stored row as handlers see it (bytes decoded back to ArrayBuffers). */
export function parseStoredFields(json: string): Record<string, unknown> {
  const fields = JSON.parse(json) as Record<string, unknown>;
  return mayHoldEncodedValues(json) ? (decodeValue(fields) as Record<string, unknown>) : fields;
}

export function rowToDocument(row: Row): StoredDocument {
  return { _id: row.id, _creationTime: row.creation_time, ...parseStoredFields(row.doc) };
}

/** Creation times are milliseconds, strictly increasing within a process so they also order inserts. */
export class CreationClock {
  private last = 0;
  constructor(private readonly now: () => number) {}
  next(): number {
    const now = this.now();
    this.last = now > this.last ? now : this.last + 0.001;
    return this.last;
  }
}

/** One document write, as reactive queries need it: which table and id, and the versions around it. */
export interface DocumentChange {
  table: string;
  id: string;
  before: StoredDocument | null;
  after: StoredDocument | null;
  /**
   * Only "something in `table` changed" (`*`: anything): a notice from another instance that had
   * to be shortened, or one that may have been missed. It touches every read of the table.
   */
  coarse?: boolean;
}

/** An id a validator met, to be checked against the database once validation is done. */
interface IdReference {
  table: string;
  id: string;
  path: string;
}

/**
 * Validates `value` against `fields`, then checks every `v.id(table)` it holds against the
 * database in one query: an id of another table is refused, an unknown id passes (its document
 * may have been deleted since).
 */
export async function validateWithIds(
  sql: SqlExecutor,
  fields: PropertyValidators,
  value: unknown,
  path: string,
): Promise<ValidationError | null> {
  const references: IdReference[] = [];
  const error = validateFields(fields, value, path, {
    isIdOf: (table, id, at) => {
      references.push({ table, id, path: at });
      return true;
    },
  });
  if (error || references.length === 0) return error;
  const ids = [...new Set(references.map((r) => r.id))];
  const rows = await sql.all<{ id: string; tbl: string }>(
    `SELECT id, tbl FROM _valet_documents WHERE id IN (${ids.map(() => '?').join(', ')})`,
    ids,
  );
  const tables = new Map(rows.map((row) => [row.id, row.tbl]));
  for (const reference of references) {
    const actual = tables.get(reference.id);
    if (actual !== undefined && actual !== reference.table) {
      return {
        path: reference.path,
        message: `expected id of ${reference.table}, got an id that is not in table ${reference.table}`,
      };
    }
  }
  return null;
}

const DOCUMENT_COLUMNS = (sql: SqlExecutor) => `id, tbl, creation_time, ${sql.dialect.documentColumn}`;

export class DocumentStore {
  /** While set, every write appends its change here (the connections layer publishes them on commit). */
  changeLog: DocumentChange[] | null = null;
  /**
   * While set (re-running many live queries in one read snapshot), identical reads are answered
   * once: within one snapshot the same statement with the same parameters returns the same rows.
   */
  readCache: Map<string, Map<string, Promise<unknown>>> | null = null;

  constructor(
    readonly sql: SqlExecutor,
    private schema: SchemaDefinition<any> | null,
    private readonly creationClock: CreationClock,
  ) {}

  get dialect(): Dialect {
    return this.sql.dialect;
  }

  /** Runs `read`, or reuses its rows from the read cache for the same statement and parameters. */
  cachedRead<T>(text: string, params: readonly unknown[], read: () => Promise<T>): Promise<T> {
    if (!this.readCache) return read();
    // By statement, then by parameters: the statement's text is long and the same each time.
    let byParams = this.readCache.get(text);
    if (!byParams) this.readCache.set(text, (byParams = new Map()));
    const key = JSON.stringify(params);
    const cached = byParams.get(key);
    if (cached) return cached as Promise<T>;
    const rows = read();
    byParams.set(key, rows);
    return rows;
  }

  setSchema(schema: SchemaDefinition<any> | null): void {
    this.schema = schema;
  }

  /** A creation time later than every one this process gave out (rows besides documents order by it too). */
  nextCreationTime(): number {
    return this.creationClock.next();
  }

  get currentSchema(): SchemaDefinition<any> | null {
    return this.schema;
  }

  async tableOf(id: string): Promise<string | null> {
    const row = await this.sql.get<{ tbl: string }>('SELECT tbl FROM _valet_documents WHERE id = ?', [id]);
    return row?.tbl ?? null;
  }

  private findRow(id: string): Promise<Row | undefined> {
    const text = `SELECT ${DOCUMENT_COLUMNS(this.sql)} FROM _valet_documents WHERE id = ?`;
    return this.cachedRead(text, [id], () => this.sql.get<Row>(text, [id]));
  }

  /** The document, or null; with `table` (Convex's newer `get(table, id)`), the id must be of that table. */
  async get(id: string, table?: string): Promise<StoredDocument | null> {
    if (table !== undefined) this.checkTableName(table, 'get');
    if (typeof id !== 'string') return null;
    const row = await this.findRow(id);
    if (row && table !== undefined && row.tbl !== table) throw tableMismatch('get', id, row.tbl, table);
    return row ? rowToDocument(row) : null;
  }

  private checkTableName(table: string, operation: string): void {
    if (typeof table !== 'string')
      throw new EngineError('invalid_write', `${operation}: the table name must be a string, got ${typeof table}`);
    if (this.schema && !tableDefinition(this.schema, table)) throw unknownTableError(this.schema, table);
  }

  private insertRow(id: string, table: string, creationTime: number, body: string): Promise<{ changes: number }> {
    return this.sql.run(
      `INSERT INTO _valet_documents (id, tbl, creation_time, ${this.dialect.documentTextColumn}) VALUES (?, ?, ?, ?)`,
      [id, table, creationTime, body],
    );
  }

  async insert(table: string, fields: Record<string, unknown>): Promise<string> {
    const body = await this.checkedBody(table, fields, false);
    const id = newId();
    const creationTime = this.creationClock.next();
    await this.insertRow(id, table, creationTime, body);
    await syncSearchRows(this.sql, this.schema, table, id, creationTime, null, fields);
    this.changeLog?.push({
      table,
      id,
      before: null,
      after: { _id: id, _creationTime: creationTime, ...parseStoredFields(body) },
    });
    return id;
  }

  /** Inserts with a caller-chosen `_id` unless a document with that id exists; returns the id either way. */
  async insertOrIgnore(table: string, fields: Record<string, unknown>): Promise<{ id: string; inserted: boolean }> {
    const id = fields?._id;
    if (typeof id !== 'string' || id.length === 0) {
      throw new EngineError(
        'invalid_write',
        `insertOrIgnore into ${table}: give the document a string _id (e.g. \`receipt-\${orderId}\`)`,
      );
    }
    const { _id: _ignored, ...rest } = fields;
    const body = await this.checkedBody(table, rest, false);
    const existingTable = await this.tableOf(id);
    if (existingTable !== null) {
      if (existingTable !== table)
        throw new EngineError(
          'id_conflict',
          `insertOrIgnore into ${table}: id "${id}" already belongs to a document in ${existingTable}`,
        );
      return { id, inserted: false };
    }
    const creationTime = this.creationClock.next();
    await this.insertRow(id, table, creationTime, body);
    await syncSearchRows(this.sql, this.schema, table, id, creationTime, null, rest);
    this.changeLog?.push({
      table,
      id,
      before: null,
      after: { _id: id, _creationTime: creationTime, ...parseStoredFields(body) },
    });
    return { id, inserted: true };
  }

  async patch(id: string, fields: Record<string, unknown>, expectedTable?: string): Promise<void> {
    const { current, table } = await this.requireDocument(id, 'patch', expectedTable);
    if (fields === null || typeof fields !== 'object' || Array.isArray(fields)) {
      throw new EngineError('invalid_write', `patch ${id}: the patch must be an object of fields`);
    }
    const { _id, _creationTime, ...existing } = current;
    const merged: Record<string, unknown> = { ...existing };
    for (const [key, value] of Object.entries(fields)) {
      if (key === '_id' || key === '_creationTime') {
        if (value !== undefined && value !== (key === '_id' ? _id : _creationTime)) {
          throw new EngineError('invalid_write', `patch ${id}: ${key} cannot be changed`);
        }
        continue;
      }
      if (key.startsWith('_'))
        throw new EngineError(
          'invalid_write',
          `patch ${id}: field "${key}" is reserved (fields starting with "_" are set by Valet)`,
        );
      // Patching a field to undefined removes it, as in Convex.
      if (value === undefined) delete merged[key];
      else merged[key] = value;
    }
    const body = await this.checkedBody(table, merged, true);
    await this.sql.run(`UPDATE _valet_documents SET ${this.dialect.documentTextColumn} = ? WHERE id = ?`, [body, id]);
    await syncSearchRows(this.sql, this.schema, table, id, _creationTime, current, merged);
    this.changeLog?.push({ table, id, before: current, after: { _id, _creationTime, ...parseStoredFields(body) } });
  }

  async replace(id: string, fields: Record<string, unknown>, expectedTable?: string): Promise<void> {
    const { current, table } = await this.requireDocument(id, 'replace', expectedTable);
    const { _id: _a, _creationTime: _b, ...rest } = fields ?? {};
    const body = await this.checkedBody(table, rest, true);
    await this.sql.run(`UPDATE _valet_documents SET ${this.dialect.documentTextColumn} = ? WHERE id = ?`, [body, id]);
    await syncSearchRows(this.sql, this.schema, table, id, current._creationTime, current, rest);
    this.changeLog?.push({
      table,
      id,
      before: current,
      after: { _id: id, _creationTime: current._creationTime, ...parseStoredFields(body) },
    });
  }

  async delete(id: string, expectedTable?: string): Promise<void> {
    const { current, table } = await this.requireDocument(id, 'delete', expectedTable);
    await this.sql.run('DELETE FROM _valet_documents WHERE id = ?', [id]);
    await syncSearchRows(this.sql, this.schema, table, id, current._creationTime, current, null);
    this.changeLog?.push({ table, id, before: current, after: null });
  }

  /** The document and its table, in one lookup. */
  private async requireDocument(
    id: string,
    operation: string,
    expectedTable?: string,
  ): Promise<{ current: StoredDocument; table: string }> {
    if (expectedTable !== undefined) this.checkTableName(expectedTable, operation);
    const row = typeof id === 'string' ? await this.findRow(id) : undefined;
    if (!row) throw new EngineError('document_not_found', `${operation}: no document with id "${id}"`);
    if (expectedTable !== undefined && row.tbl !== expectedTable)
      throw tableMismatch(operation, id, row.tbl, expectedTable);
    return { current: rowToDocument(row), table: row.tbl };
  }

  /** Validates against the schema (when there is one) and serialises to the stored JSON. */
  private async checkedBody(table: string, fields: Record<string, unknown>, isUpdate: boolean): Promise<string> {
    if (fields === null || typeof fields !== 'object' || Array.isArray(fields)) {
      throw new EngineError('invalid_write', `${table}: a document must be an object of fields`);
    }
    for (const key of Object.keys(fields)) {
      if (key.startsWith('_'))
        throw new EngineError(
          'invalid_write',
          `${table}: field "${key}" is reserved (fields starting with "_" are set by Valet)`,
        );
    }
    if (this.schema) {
      const definition = tableDefinition(this.schema, table);
      if (!definition) throw unknownTableError(this.schema, table);
      if (this.schema.options.schemaValidation) {
        const error = await validateWithIds(this.sql, definition.fields, fields, 'document');
        if (error) {
          const verb = isUpdate ? 'update would make' : 'insert of';
          throw new EngineError(
            'schema_violation',
            `${table}: ${verb} a document that does not match the schema: ${formatValidationError(error)}`,
          );
        }
      }
    } else if (!/^[A-Za-z][\w]*$/.test(table)) {
      throw new EngineError(
        'unknown_table',
        `table name "${table}": use letters, digits and "_", starting with a letter`,
      );
    }
    return serialise(table, fields);
  }
}

function serialise(table: string, fields: Record<string, unknown>): string {
  const encoded = encodeValue(fields);
  const problem = findNonJson(encoded, 'document', { text: true });
  // Text no backend stores most often comes from a caller's input the handler passed on: a 400.
  if (problem)
    throw new EngineError(problem.text ? 'invalid_document' : 'unstorable_value', `${table}: ${problem.message}`);
  return JSON.stringify(encoded);
}

/** How deep a stored or returned value may nest (Convex's limit too). */
export const MAX_DOCUMENT_DEPTH = 64;

export interface ValueProblem {
  message: string;
  /** A string or key breaks the text rule (../protocol/text.ts), rather than the value's shape. */
  text: boolean;
}

/**
 * Documents and results hold JSON values only: a Date, a Map or NaN would not read back as
 * written. With `text`, strings and keys must also be storable text (what is stored or
 * scheduled; a result only travels as JSON, which escapes anything). Bounded by the depth limit,
 * so a hostile value cannot overflow the stack.
 */
export function findNonJson(value: unknown, path: string, options: { text?: boolean } = {}): ValueProblem | null {
  return walk(value, path, options.text === true, new Set(), 0);
}

const shape = (message: string): ValueProblem => ({ message, text: false });

function walk(value: unknown, path: string, text: boolean, seen: Set<unknown>, depth: number): ValueProblem | null {
  if (typeof value === 'string')
    return !text || isStorableText(value) ? null : { message: `${path} ${textProblem(value)}`, text: true };
  if (value === null || value === undefined || typeof value === 'boolean') return null;
  if (typeof value === 'number')
    return Number.isFinite(value) ? null : shape(`${path} is ${value}, which JSON cannot hold`);
  if (typeof value !== 'object') return shape(`${path} is a ${typeof value}, which JSON cannot hold`);
  if (seen.has(value)) return shape(`${path} refers back to itself`);
  if (depth >= MAX_DOCUMENT_DEPTH) return shape(`${path} is nested deeper than ${MAX_DOCUMENT_DEPTH} levels`);
  seen.add(value);
  try {
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const problem = walk(value[i] === undefined ? null : value[i], `${path}[${i}]`, text, seen, depth + 1);
        if (problem) return problem;
      }
      return null;
    }
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null)
      return shape(`${path} is a ${(value as object).constructor?.name ?? 'non-plain object'}, which JSON cannot hold`);
    for (const [key, item] of Object.entries(value)) {
      if (text && !isStorableText(key)) return { message: `${path}: a field name ${textProblem(key)}`, text: true };
      const problem = walk(item, `${path}.${key}`, text, seen, depth + 1);
      if (problem) return problem;
    }
    return null;
  } finally {
    seen.delete(value);
  }
}
