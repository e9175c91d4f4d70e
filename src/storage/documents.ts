// Documents on one SQLite connection: synchronous reads and writes, schema validation on every
// write. The runtime decides which connection (reader snapshot or the writer's transaction).
import type Database from 'better-sqlite3';
import type { SchemaDefinition } from '../server/schema.js';
import { tableDefinition } from '../server/schema.js';
import { formatValidationError, validateFields } from '../server/values.js';
import { decodeValue, encodeValue, mayHoldEncodedValues } from '../protocol/values.js';
import { newId } from './ids.js';

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

/** A mistake in how a handler uses the database: the handler's error, with a clear message. */
export type DocumentErrorCode = 'unknown_table' | 'schema_violation' | 'document_not_found' | 'id_conflict' | 'invalid_document' | 'invalid_cursor' | 'invalid_query' | 'table_mismatch';

export class DocumentError extends Error {
  constructor(
    readonly code: DocumentErrorCode,
    message: string,
    /** 500: the handler used the database wrongly. 400: the caller sent something bad (a cursor). */
    readonly status = 500,
  ) {
    super(message);
    this.name = 'DocumentError';
  }
}

/** The one message for a table the schema does not declare. */
export function unknownTableError(schema: SchemaDefinition<any>, table: string): DocumentError {
  return new DocumentError('unknown_table', `table ${JSON.stringify(table)} is not declared in valet/schema.ts (tables: ${Object.keys(schema.tables).join(', ') || 'none'})`);
}

function tableMismatch(operation: string, id: string, actual: string, expected: string): DocumentError {
  return new DocumentError('table_mismatch', `${operation}: "${id}" is an id of table ${actual}, not ${expected}`);
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
}

export class DocumentStore {
  private readonly statements = new Map<string, Database.Statement>();
  /** While set, every write appends its change here (the connections layer publishes them on commit). */
  changeLog: DocumentChange[] | null = null;
  /**
   * While set (re-running many live queries in one read snapshot), identical reads are answered
   * once: within one snapshot the same statement with the same parameters returns the same rows.
   */
  readCache: Map<string, unknown> | null = null;

  /** Runs `read`, or reuses its rows from the read cache for the same statement and parameters. */
  cachedRead<T>(sql: string, params: unknown[], read: () => T): T {
    if (!this.readCache) return read();
    const key = `${sql}\u0000${JSON.stringify(params)}`;
    if (this.readCache.has(key)) return this.readCache.get(key) as T;
    const rows = read();
    this.readCache.set(key, rows);
    return rows;
  }

  constructor(
    readonly db: Database.Database,
    private schema: SchemaDefinition<any> | null,
    private readonly creationClock: CreationClock,
  ) {}

  setSchema(schema: SchemaDefinition<any> | null): void {
    this.schema = schema;
  }

  get currentSchema(): SchemaDefinition<any> | null {
    return this.schema;
  }

  prepare(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  tableOf(id: string): string | null {
    const row = this.prepare('SELECT tbl FROM _valet_documents WHERE id = ?').get(id) as { tbl: string } | undefined;
    return row?.tbl ?? null;
  }

  private findRow(id: string): Row | undefined {
    const sql = 'SELECT id, tbl, creation_time, doc FROM _valet_documents WHERE id = ?';
    return this.cachedRead(sql, [id], () => this.prepare(sql).get(id)) as Row | undefined;
  }

  /** The document, or null; with `table` (Convex's newer `get(table, id)`), the id must be of that table. */
  get(id: string, table?: string): StoredDocument | null {
    if (table !== undefined) this.checkTableName(table, 'get');
    if (typeof id !== 'string') return null;
    const row = this.findRow(id);
    if (row && table !== undefined && row.tbl !== table) throw tableMismatch('get', id, row.tbl, table);
    return row ? rowToDocument(row) : null;
  }

  private checkTableName(table: string, operation: string): void {
    if (typeof table !== 'string') throw new DocumentError('invalid_document', `${operation}: the table name must be a string, got ${typeof table}`);
    if (this.schema && !tableDefinition(this.schema, table)) throw unknownTableError(this.schema, table);
  }

  insert(table: string, fields: Record<string, unknown>): string {
    const body = this.checkedBody(table, fields, false);
    const id = newId();
    const creationTime = this.creationClock.next();
    this.prepare('INSERT INTO _valet_documents (id, tbl, creation_time, doc) VALUES (?, ?, ?, ?)').run(id, table, creationTime, body);
    this.changeLog?.push({ table, id, before: null, after: { _id: id, _creationTime: creationTime, ...parseStoredFields(body) } });
    return id;
  }

  /** Inserts with a caller-chosen `_id` unless a document with that id exists; returns the id either way. */
  insertOrIgnore(table: string, fields: Record<string, unknown>): { id: string; inserted: boolean } {
    const id = fields?._id;
    if (typeof id !== 'string' || id.length === 0) {
      throw new DocumentError('invalid_document', `insertOrIgnore into ${table}: give the document a string _id (e.g. \`receipt-\${orderId}\`)`);
    }
    const { _id: _ignored, ...rest } = fields;
    const body = this.checkedBody(table, rest, false);
    const existingTable = this.tableOf(id);
    if (existingTable !== null) {
      if (existingTable !== table) throw new DocumentError('id_conflict', `insertOrIgnore into ${table}: id "${id}" already belongs to a document in ${existingTable}`);
      return { id, inserted: false };
    }
    const creationTime = this.creationClock.next();
    this.prepare('INSERT INTO _valet_documents (id, tbl, creation_time, doc) VALUES (?, ?, ?, ?)').run(id, table, creationTime, body);
    this.changeLog?.push({ table, id, before: null, after: { _id: id, _creationTime: creationTime, ...parseStoredFields(body) } });
    return { id, inserted: true };
  }

  patch(id: string, fields: Record<string, unknown>, expectedTable?: string): void {
    const { current, table } = this.requireDocument(id, 'patch', expectedTable);
    if (fields === null || typeof fields !== 'object' || Array.isArray(fields)) {
      throw new DocumentError('invalid_document', `patch ${id}: the patch must be an object of fields`);
    }
    const { _id, _creationTime, ...existing } = current;
    const merged: Record<string, unknown> = { ...existing };
    for (const [key, value] of Object.entries(fields)) {
      if (key === '_id' || key === '_creationTime') {
        if (value !== undefined && value !== (key === '_id' ? _id : _creationTime)) {
          throw new DocumentError('invalid_document', `patch ${id}: ${key} cannot be changed`);
        }
        continue;
      }
      if (key.startsWith('_')) throw new DocumentError('invalid_document', `patch ${id}: field "${key}" is reserved (fields starting with "_" are set by Valet)`);
      // Patching a field to undefined removes it, as in Convex.
      if (value === undefined) delete merged[key];
      else merged[key] = value;
    }
    const body = this.checkedBody(table, merged, true);
    this.prepare('UPDATE _valet_documents SET doc = ? WHERE id = ?').run(body, id);
    this.changeLog?.push({ table, id, before: current, after: { _id, _creationTime, ...parseStoredFields(body) } });
  }

  replace(id: string, fields: Record<string, unknown>, expectedTable?: string): void {
    const { current, table } = this.requireDocument(id, 'replace', expectedTable);
    const { _id: _a, _creationTime: _b, ...rest } = fields ?? {};
    const body = this.checkedBody(table, rest, true);
    this.prepare('UPDATE _valet_documents SET doc = ? WHERE id = ?').run(body, id);
    this.changeLog?.push({ table, id, before: current, after: { _id: id, _creationTime: current._creationTime, ...parseStoredFields(body) } });
  }

  delete(id: string, expectedTable?: string): void {
    const { current, table } = this.requireDocument(id, 'delete', expectedTable);
    this.prepare('DELETE FROM _valet_documents WHERE id = ?').run(id);
    this.changeLog?.push({ table, id, before: current, after: null });
  }

  /** The document and its table, in one lookup. */
  private requireDocument(id: string, operation: string, expectedTable?: string): { current: StoredDocument; table: string } {
    if (expectedTable !== undefined) this.checkTableName(expectedTable, operation);
    const row = typeof id === 'string' ? this.findRow(id) : undefined;
    if (!row) throw new DocumentError('document_not_found', `${operation}: no document with id "${id}"`);
    if (expectedTable !== undefined && row.tbl !== expectedTable) throw tableMismatch(operation, id, row.tbl, expectedTable);
    return { current: rowToDocument(row), table: row.tbl };
  }

  /** Validates against the schema (when there is one) and serialises to the stored JSON. */
  private checkedBody(table: string, fields: Record<string, unknown>, isUpdate: boolean): string {
    if (fields === null || typeof fields !== 'object' || Array.isArray(fields)) {
      throw new DocumentError('invalid_document', `${table}: a document must be an object of fields`);
    }
    for (const key of Object.keys(fields)) {
      if (key.startsWith('_')) throw new DocumentError('invalid_document', `${table}: field "${key}" is reserved (fields starting with "_" are set by Valet)`);
    }
    if (this.schema) {
      const definition = tableDefinition(this.schema, table);
      if (!definition) throw unknownTableError(this.schema, table);
      if (this.schema.options.schemaValidation) {
        const isIdOf = (expected: string, id: string) => {
          const actual = this.tableOf(id);
          return actual === null || actual === expected;
        };
        const error = validateFields(definition.fields, fields, 'document', { isIdOf });
        if (error) {
          const verb = isUpdate ? 'update would make' : 'insert of';
          throw new DocumentError('schema_violation', `${table}: ${verb} a document that does not match the schema: ${formatValidationError(error)}`);
        }
      }
    } else if (!/^[A-Za-z][\w]*$/.test(table)) {
      throw new DocumentError('unknown_table', `table name "${table}": use letters, digits and "_", starting with a letter`);
    }
    return serialise(table, fields);
  }
}

function serialise(table: string, fields: Record<string, unknown>): string {
  const encoded = encodeValue(fields);
  const problem = findNonJson(encoded, 'document');
  if (problem) throw new DocumentError('invalid_document', `${table}: ${problem}`);
  return JSON.stringify(encoded);
}

/** How deep a stored or returned value may nest (Convex's limit too). */
export const MAX_DOCUMENT_DEPTH = 64;

/**
 * Documents and results hold JSON values only: a Date, a Map or NaN would not read back as
 * written. Bounded by the depth limit, so a hostile value cannot overflow the stack.
 */
export function findNonJson(value: unknown, path: string, seen = new Set<unknown>(), depth = 0): string | null {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return null;
  if (typeof value === 'number') return Number.isFinite(value) ? null : `${path} is ${value}, which JSON cannot hold`;
  if (typeof value === 'undefined') return null;
  if (typeof value !== 'object') return `${path} is a ${typeof value}, which JSON cannot hold`;
  if (seen.has(value)) return `${path} refers back to itself`;
  if (depth >= MAX_DOCUMENT_DEPTH) return `${path} is nested deeper than ${MAX_DOCUMENT_DEPTH} levels`;
  seen.add(value);
  try {
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const problem = findNonJson(value[i] === undefined ? null : value[i], `${path}[${i}]`, seen, depth + 1);
        if (problem) return problem;
      }
      return null;
    }
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) return `${path} is a ${(value as object).constructor?.name ?? 'non-plain object'}, which JSON cannot hold`;
    for (const [key, item] of Object.entries(value)) {
      const problem = findNonJson(item, `${path}.${key}`, seen, depth + 1);
      if (problem) return problem;
    }
    return null;
  } finally {
    seen.delete(value);
  }
}
