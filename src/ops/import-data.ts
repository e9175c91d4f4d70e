// `valet import <file>`: an archive from `valet export` (either backend) into the app's database.
// Everything is checked before anything is written — the file's shape, every document against
// valet/schema.ts, ids between tables, ids already in the database — and the first problem is
// refused with its line. Then it is written in one transaction: all of it, or nothing.
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { buildAndLoad } from '../bundler/evaluate.js';
import { UserError } from '../errors/user-error.js';
import { decodeValue } from '../protocol/values.js';
import { findRunningServer } from '../project/running-server.js';
import { buildRegistry } from '../runtime/registry.js';
import type { SchemaDefinition } from '../server/schema.js';
import { tableDefinition } from '../server/schema.js';
import type { PropertyValidators } from '../server/values.js';
import { formatValidationError, validateFields } from '../server/values.js';
import { ARCHIVE_FORMAT, ARCHIVE_VERSION, SYSTEM_TABLES } from '../storage/archive.js';
import type { ArchiveHeader, DocumentLine, SystemLine } from '../storage/archive.js';
import { findNonJson, holdsNul } from '../storage/documents.js';
import type { SqlExecutor } from '../storage/sql.js';
import { withAppDatabase } from './open-app-database.js';

export interface ImportOptions {
  /**
   * empty (default): the database must hold no documents; replace: delete every document (and
   * the system rows the archive carries) first; append: add to what is there (an _id already
   * present is refused).
   */
  mode?: 'empty' | 'replace' | 'append';
}

export interface ImportSummary {
  documents: number;
  tables: Record<string, number>;
  systemRows: number;
}

interface Parsed {
  header: ArchiveHeader;
  documents: (DocumentLine & { line: number; json: string })[];
  system: (SystemLine & { line: number })[];
}

const TABLE_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;
const COLUMN_NAME = /^[a-z_]+$/;
const BATCH = 200;

async function isGzip(file: string): Promise<boolean> {
  const handle = await open(file, 'r');
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(2), 0, 2, 0);
    return bytesRead === 2 && buffer[0] === 0x1f && buffer[1] === 0x8b;
  } finally {
    await handle.close();
  }
}

/** Reads and checks the archive's shape, line by line. */
async function parseArchive(file: string): Promise<Parsed> {
  let input: Readable;
  try {
    input = createReadStream(file);
    if (await isGzip(file)) input = input.pipe(createGunzip());
  } catch (error) {
    throw new UserError(`cannot read ${file}: ${(error as Error).message}`);
  }
  const fail = (line: number, message: string) => new UserError(`${file}:${line}: ${message}`, { location: { file, line } });
  let header: ArchiveHeader | null = null;
  let ended = false;
  const documents: Parsed['documents'] = [];
  const system: Parsed['system'] = [];
  const ids = new Map<string, number>();
  let line = 0;
  try {
    for await (const text of createInterface({ input, crlfDelay: Infinity })) {
      line++;
      if (text.trim() === '') continue;
      if (ended) throw fail(line, 'content after the closing line');
      let value: any;
      try {
        value = JSON.parse(text);
      } catch (error) {
        throw fail(line, `not JSON (${(error as Error).message})`);
      }
      if (header === null) {
        if (value?.format !== ARCHIVE_FORMAT) throw fail(line, `not a Valet export (the first line must be its header, {"format":"${ARCHIVE_FORMAT}",…})`);
        if (value.version !== ARCHIVE_VERSION) throw fail(line, `export format version ${value.version}; this Valet reads version ${ARCHIVE_VERSION}`);
        header = value as ArchiveHeader;
      } else if (value?.end === true) {
        if (value.documents !== documents.length || value.systemRows !== system.length) {
          throw fail(line, `the closing line counts ${value.documents} documents and ${value.systemRows} system rows, but the file holds ${documents.length} and ${system.length}`);
        }
        ended = true;
      } else if (typeof value?.table === 'string') {
        const { table, _id, _creationTime, doc } = value as DocumentLine;
        if (!TABLE_NAME.test(table)) throw fail(line, `table name ${JSON.stringify(table)} is not valid`);
        if (typeof _id !== 'string' || _id === '') throw fail(line, 'the document needs a string _id');
        if (typeof _creationTime !== 'number' || !Number.isFinite(_creationTime)) throw fail(line, 'the document needs a numeric _creationTime');
        if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw fail(line, 'the document\'s "doc" must be an object of fields');
        const reserved = Object.keys(doc).find((key) => key.startsWith('_'));
        if (reserved) throw fail(line, `field "${reserved}" is reserved (fields starting with "_" are set by Valet)`);
        const problem = findNonJson(doc, 'doc');
        if (problem) throw fail(line, problem);
        const first = ids.get(_id);
        if (first !== undefined) throw fail(line, `_id "${_id}" appears twice (first on line ${first})`);
        ids.set(_id, line);
        documents.push({ table, _id, _creationTime, doc, line, json: JSON.stringify(doc) });
      } else if (typeof value?.system === 'string') {
        if (!(SYSTEM_TABLES as readonly string[]).includes(value.system)) throw fail(line, `unknown system table ${JSON.stringify(value.system)}`);
        const row = value.row;
        if (row === null || typeof row !== 'object' || Array.isArray(row) || Object.keys(row).some((column) => !COLUMN_NAME.test(column))) {
          throw fail(line, 'a system row must be an object of columns');
        }
        system.push({ system: value.system, row, line });
      } else {
        throw fail(line, 'expected a document ({"table", "_id", "_creationTime", "doc"}), a system row or the closing line');
      }
    }
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw new UserError(`cannot read ${file}: ${(error as Error).message}`);
  }
  if (header === null) throw new UserError(`${file} is empty: expected a Valet export`);
  if (!ended) throw new UserError(`${file} ends before its closing line: the export was cut short (copy it again)`);
  return { header, documents, system };
}

/** Every document against the schema; ids checked against the archive, then the database. */
async function validateDocuments(file: string, parsed: Parsed, schema: SchemaDefinition<any> | null, sql: SqlExecutor, append: boolean): Promise<void> {
  const tableOf = new Map(parsed.documents.map((d) => [d._id, d.table]));
  const references: { table: string; id: string; line: number; path: string }[] = [];
  for (const document of parsed.documents) {
    const fail = (message: string) => new UserError(`${file}:${document.line}: ${document.table} ${document._id}: ${message}`, { location: { file, line: document.line } });
    if (sql.dialect.name === 'postgres' && holdsNul(document.json)) throw fail('a string holds the character U+0000, which PostgreSQL cannot store');
    if (!schema) continue;
    const definition = tableDefinition(schema, document.table) as { fields: PropertyValidators } | undefined;
    if (!definition) throw fail(`valet/schema.ts declares no table ${document.table} (tables: ${Object.keys(schema.tables).join(', ') || 'none'})`);
    if (!schema.options.schemaValidation) continue;
    const error = validateFields(definition.fields, decodeValue(document.doc), 'document', {
      isIdOf: (table, id, path) => {
        const inArchive = tableOf.get(id);
        if (inArchive === undefined) references.push({ table, id, line: document.line, path });
        return inArchive === undefined || inArchive === table;
      },
    });
    if (error) throw fail(`does not match the schema: ${formatValidationError(error)}`);
  }
  // Ids the archive does not hold may be in the database (when appending), or gone (allowed, as at runtime).
  if (append) {
    for (let i = 0; i < references.length; i += BATCH) {
      const batch = references.slice(i, i + BATCH);
      const rows = await sql.all<{ id: string; tbl: string }>(`SELECT id, tbl FROM _valet_documents WHERE id IN (${batch.map(() => '?').join(', ')})`, batch.map((r) => r.id));
      const tables = new Map(rows.map((row) => [row.id, row.tbl]));
      const wrong = batch.find((r) => tables.has(r.id) && tables.get(r.id) !== r.table);
      if (wrong) throw new UserError(`${file}:${wrong.line}: ${wrong.path}: expected id of ${wrong.table}, got an id of ${tables.get(wrong.id)}`, { location: { file, line: wrong.line } });
    }
    for (let i = 0; i < parsed.documents.length; i += BATCH) {
      const batch = parsed.documents.slice(i, i + BATCH);
      const taken = await sql.get<{ id: string }>(`SELECT id FROM _valet_documents WHERE id IN (${batch.map(() => '?').join(', ')}) LIMIT 1`, batch.map((d) => d._id));
      if (taken) {
        const line = batch.find((d) => d._id === taken.id)!.line;
        throw new UserError(`${file}:${line}: a document with _id "${taken.id}" is already in the database (--append adds new documents only)`, { location: { file, line } });
      }
    }
  }
}

async function write(sql: SqlExecutor, parsed: Parsed, mode: NonNullable<ImportOptions['mode']>): Promise<void> {
  if (mode === 'replace') {
    await sql.run('DELETE FROM _valet_documents');
    for (const table of new Set(parsed.system.map((row) => row.system))) {
      await sql.run(table === '_valet_meta' ? "DELETE FROM _valet_meta WHERE key = 'args_hash_secret'" : `DELETE FROM ${table}`);
    }
  }
  for (let i = 0; i < parsed.documents.length; i += BATCH) {
    const batch = parsed.documents.slice(i, i + BATCH);
    const values = batch.map(() => `(?, ?, ?, ${sql.dialect.documentParam})`).join(', ');
    await sql.run(`INSERT INTO _valet_documents (id, tbl, creation_time, doc) VALUES ${values}`, batch.flatMap((d) => [d._id, d.table, d._creationTime, d.json]));
  }
  for (const { system, row } of parsed.system) {
    const columns = Object.keys(row);
    const values = columns.map((column) => {
      const value = row[column];
      return value !== null && typeof value === 'object' ? JSON.stringify(value) : value;
    });
    // A row already there (an idempotency secret, a cron's state) is kept.
    await sql.run(`INSERT INTO ${system} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')}) ON CONFLICT DO NOTHING`, values);
  }
}

export async function importData(appDir: string, file: string, options: ImportOptions = {}): Promise<ImportSummary> {
  const mode = options.mode ?? 'empty';
  const running = await findRunningServer(appDir);
  if (running) throw new UserError(`a Valet server is running for this app (${running.url}): stop it before importing, so it does not work on data that is being replaced`);
  const parsed = await parseArchive(file);
  const schema = buildRegistry(await buildAndLoad(appDir)).schema;
  return withAppDatabase(
    appDir,
    async (db) => {
      await validateDocuments(file, parsed, schema, db.sql, mode === 'append');
      await db.transaction(async (sql) => {
        if (mode === 'empty' && (await sql.get('SELECT 1 AS found FROM _valet_documents LIMIT 1'))) {
          throw new UserError('the database already holds documents: import with --replace to delete them first, or --append to add to them');
        }
        await write(sql, parsed, mode);
      });
      const tables: Record<string, number> = {};
      for (const document of parsed.documents) tables[document.table] = (tables[document.table] ?? 0) + 1;
      return { documents: parsed.documents.length, tables, systemRows: parsed.system.length };
    },
    { writable: true },
  );
}
