// `valet import <file>`: an archive from `valet export` (either backend) into the app's database.
// One transaction, streamed: each line is checked (its shape, storable text, the schema) and
// written in batches as it is read, so memory stays flat however large the archive; ids between
// documents are checked once every line is in. Stored files go to the target's file store as their
// lines come (../archive-files.ts). The first problem is refused with its line and the transaction
// rolls back: all of it, or nothing.
import { dirname } from 'node:path';
import { UserError } from '../../errors/user-error.js';
import { systemClock } from '../../runtime/clock.js';
import { filesConfigOf, openBlobStore } from '../../runtime/files/service.js';
import { databaseTargetOf } from '../../serve/database-target.js';
import type { BlobStore } from '../../storage/files/blobs.js';
import { FileImport } from '../archive-files.js';
import type { FileChunkLine, FileLine } from '../archive-files.js';
import { decodeValue } from '../../protocol/values.js';
import { isStorableText, textProblem } from '../../protocol/text.js';
import { buildAndLoad } from '../../bundler/evaluate.js';
import { buildRegistry } from '../../runtime/registry.js';
import type { SchemaDefinition } from '../../server/schema.js';
import { tableDefinition } from '../../server/schema.js';
import type { PropertyValidators } from '../../server/values.js';
import { formatValidationError, validateFields } from '../../server/values.js';
import { ARCHIVE_FORMAT, ARCHIVE_VERSION, SYSTEM_TABLES } from '../../storage/archive.js';
import type { DocumentLine } from '../../storage/archive.js';
import { tableColumns } from '../../storage/columns.js';
import type { ColumnInfo } from '../../storage/columns.js';
import { BulkLoad } from '../../storage/bulk-load.js';
import type { DocumentReference, LoadedDocument } from '../../storage/bulk-load.js';
import { findNonJson } from '../../storage/documents.js';
import { applySearchIndexes } from '../../storage/search-indexes.js';
import type { SqlExecutor } from '../../storage/sql.js';
import { withAppDatabase } from '../open-app-database.js';
import { refuseBesideRunningServer } from '../server-or-local.js';
import { archiveLines, lineError } from './archive-lines.js';

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
  files: number;
}

const TABLE_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;
const BATCH = 200;

/** One import in progress, inside its transaction: the checks, with storage's BulkLoad doing the writes. */
class ImportRun {
  private documents: LoadedDocument[] = [];
  private references: DocumentReference[] = [];
  private columns = new Map<string, ColumnInfo[]>();
  private clearedSystemTables = new Set<string>();
  private load!: BulkLoad;
  readonly tables: Record<string, number> = {};
  readonly files: FileImport;
  documentCount = 0;
  systemRows = 0;

  constructor(
    private readonly sql: SqlExecutor,
    private readonly file: string,
    private readonly schema: SchemaDefinition<any> | null,
    private readonly mode: NonNullable<ImportOptions['mode']>,
    blobs: BlobStore,
  ) {
    this.files = new FileImport(sql, blobs, (line, message) => this.fail(line, message));
  }

  private fail(line: number, message: string): UserError {
    return lineError(this.file, line, message);
  }

  async begin(): Promise<void> {
    const load = await BulkLoad.begin(this.sql, this.mode);
    if (!load)
      throw new UserError(
        'the database already holds documents: import with --replace to delete them first, or --append to add to them',
      );
    this.load = load;
    if (this.mode === 'replace') await this.files.clear();
  }

  async addDocument(value: DocumentLine, line: number): Promise<void> {
    const { table, _id, _creationTime, doc } = value;
    if (!TABLE_NAME.test(table)) throw this.fail(line, `table name ${JSON.stringify(table)} is not valid`);
    if (typeof _id !== 'string' || _id === '') throw this.fail(line, 'the document needs a string _id');
    if (!isStorableText(_id)) throw this.fail(line, `the _id ${textProblem(_id)}`);
    if (typeof _creationTime !== 'number' || !Number.isFinite(_creationTime))
      throw this.fail(line, 'the document needs a numeric _creationTime');
    if (doc === null || typeof doc !== 'object' || Array.isArray(doc))
      throw this.fail(line, 'the document\'s "doc" must be an object of fields');
    const reserved = Object.keys(doc).find((key) => key.startsWith('_'));
    if (reserved) throw this.fail(line, `field "${reserved}" is reserved (fields starting with "_" are set by Valet)`);
    const problem = findNonJson(doc, 'doc', { text: true });
    if (problem) throw this.fail(line, problem.message);
    this.checkSchema(table, _id, doc, line);
    this.documents.push({ table, _id, _creationTime, json: JSON.stringify(doc), line });
    this.tables[table] = (this.tables[table] ?? 0) + 1;
    this.documentCount++;
    if (this.documents.length >= BATCH) await this.flushDocuments();
  }

  private checkSchema(table: string, id: string, doc: Record<string, unknown>, line: number): void {
    if (!this.schema) return;
    const definition = tableDefinition(this.schema, table) as { fields: PropertyValidators } | undefined;
    if (!definition)
      throw this.fail(
        line,
        `${table} ${id}: valet/schema.ts declares no table ${table} (tables: ${Object.keys(this.schema.tables).join(', ') || 'none'})`,
      );
    if (!this.schema.options.schemaValidation) return;
    const error = validateFields(definition.fields, decodeValue(doc), 'document', {
      // Whether the id is of the right table is known once every document is in.
      isIdOf: (referenced, referencedId, path) => {
        this.references.push({ id: referencedId, table: referenced, line, path });
        return true;
      },
    });
    if (error) throw this.fail(line, `${table} ${id}: does not match the schema: ${formatValidationError(error)}`);
  }

  /** Writes the documents read so far (a duplicate _id among them is found here). */
  async flushDocuments(): Promise<void> {
    const batch = this.documents;
    this.documents = [];
    if (batch.length === 0) return;
    const seen = new Map<string, number>();
    for (const document of batch) {
      const first = seen.get(document._id);
      if (first !== undefined)
        throw this.fail(document.line, `_id "${document._id}" appears twice (first on line ${first})`);
      seen.set(document._id, document.line);
    }
    const taken = await this.load.insertDocuments(batch);
    if (taken) {
      const line = seen.get(taken.id)!;
      if (taken.firstLine !== null)
        throw this.fail(line, `_id "${taken.id}" appears twice (first on line ${taken.firstLine})`);
      throw this.fail(
        line,
        `a document with _id "${taken.id}" is already in the database (--append adds new documents only)`,
      );
    }
    await this.load.insertReferences(this.references);
    this.references = [];
  }

  /** A system row, checked against its table's columns like a document against its schema. */
  async addSystemRow(system: unknown, row: unknown, line: number): Promise<void> {
    if (typeof system !== 'string' || !(SYSTEM_TABLES as readonly string[]).includes(system))
      throw this.fail(line, `unknown system table ${JSON.stringify(system)}`);
    if (row === null || typeof row !== 'object' || Array.isArray(row))
      throw this.fail(line, 'a system row must be an object of columns');
    let columns = this.columns.get(system);
    if (!columns) this.columns.set(system, (columns = await tableColumns(this.sql, system)));
    const known = new Set(columns.map((c) => c.name));
    const fields = row as Record<string, unknown>;
    const unknown = Object.keys(fields).find((name) => !known.has(name));
    if (unknown !== undefined)
      throw this.fail(line, `${system} has no column ${JSON.stringify(unknown)} (columns: ${[...known].join(', ')})`);
    const missing = columns.find((c) => c.required && (fields[c.name] === undefined || fields[c.name] === null));
    if (missing) throw this.fail(line, `${system} needs a value for ${missing.name}`);
    const names = Object.keys(fields);
    const values = names.map((name) => {
      const value = fields[name];
      return value !== null && typeof value === 'object' ? JSON.stringify(value) : value;
    });
    for (const [i, value] of values.entries()) {
      if (typeof value === 'string' && !isStorableText(value))
        throw this.fail(line, `${system}.${names[i]} ${textProblem(value)}`);
      if (value !== null && !['string', 'number', 'boolean'].includes(typeof value))
        throw this.fail(line, `${system}.${names[i]}: a ${typeof value} cannot be stored`);
    }
    if (this.mode === 'replace' && !this.clearedSystemTables.has(system)) {
      this.clearedSystemTables.add(system);
      await this.load.clearSystemTable(system);
    }
    try {
      await this.load.insertSystemRow(system, names, values);
    } catch (error) {
      throw this.fail(line, `${system}: the row cannot be stored: ${String((error as Error).message).split('\n')[0]}`);
    }
    this.systemRows++;
  }

  /** Every reference against the documents now in the database. */
  async finish(): Promise<void> {
    await this.flushDocuments();
    const wrong = await this.load.finish();
    if (wrong) throw this.fail(wrong.line, `${wrong.path}: expected id of ${wrong.tbl}, got an id of ${wrong.actual}`);
    // Search indexes are not in an archive: made again from the documents now stored.
    await applySearchIndexes(this.sql, this.schema, { rebuild: true });
  }
}

async function importLines(run: ImportRun, file: string): Promise<void> {
  let header = false;
  let ended = false;
  for await (const { text, line } of archiveLines(file)) {
    if (text.trim() === '') continue;
    if (ended) throw lineError(file, line, 'content after the closing line');
    let value: any;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw lineError(file, line, `not JSON (${(error as Error).message})`);
    }
    if (!header) {
      if (value?.format !== ARCHIVE_FORMAT)
        throw lineError(
          file,
          line,
          `not a Valet export (the first line must be its header, {"format":"${ARCHIVE_FORMAT}",…})`,
        );
      if (value.version !== ARCHIVE_VERSION)
        throw lineError(
          file,
          line,
          `export format version ${value.version}; this Valet reads version ${ARCHIVE_VERSION}`,
        );
      header = true;
      continue;
    }
    if (typeof value?.fileChunk === 'string') {
      await run.files.chunk(value as FileChunkLine, line);
      continue;
    }
    // Any other line ends the file whose bytes came before it.
    await run.files.end();
    if (value?.end === true) {
      // A duplicate among the last documents read is the error to report, not the count.
      await run.flushDocuments();
      if ((value.files ?? 0) !== run.files.count)
        throw lineError(
          file,
          line,
          `the closing line counts ${value.files ?? 0} files, but the file holds ${run.files.count}`,
        );
      if (value.documents !== run.documentCount || value.systemRows !== run.systemRows) {
        throw lineError(
          file,
          line,
          `the closing line counts ${value.documents} documents and ${value.systemRows} system rows, but the file holds ${run.documentCount} and ${run.systemRows}`,
        );
      }
      ended = true;
    } else if (typeof value?.file === 'string') {
      await run.files.begin(value as FileLine, line);
    } else if (typeof value?.table === 'string') {
      await run.addDocument(value as DocumentLine, line);
    } else if (value !== null && typeof value === 'object' && 'system' in value) {
      await run.addSystemRow(value.system, value.row, line);
    } else {
      throw lineError(
        file,
        line,
        'expected a document ({"table", "_id", "_creationTime", "doc"}), a file, a system row or the closing line',
      );
    }
  }
  if (!header) throw new UserError(`${file} is empty: expected a Valet export`);
  if (!ended) throw new UserError(`${file} ends before its closing line: the export was cut short (copy it again)`);
}

/** Where imported files' bytes go: the target database's own store (inside the import's transaction on PostgreSQL). */
function blobStoreOf(appDir: string, sql: SqlExecutor): BlobStore {
  const target = databaseTargetOf(appDir);
  let config: ReturnType<typeof filesConfigOf>;
  try {
    config = filesConfigOf(process.env, target.backend);
  } catch (error) {
    throw new UserError((error as Error).message);
  }
  return openBlobStore({
    backend: target.backend,
    sql,
    now: () => systemClock.now(),
    stateDir: target.backend === 'sqlite' ? dirname(target.database) : null,
    config,
  });
}

export async function importData(appDir: string, file: string, options: ImportOptions = {}): Promise<ImportSummary> {
  const mode = options.mode ?? 'empty';
  await refuseBesideRunningServer(
    appDir,
    'import',
    'stop it before importing, so it does not work on data that is being replaced',
  );
  const schema = buildRegistry(await buildAndLoad(appDir)).schema;
  return withAppDatabase(
    appDir,
    (db) =>
      db.transaction(async (sql) => {
        const run = new ImportRun(sql, file, schema, mode, blobStoreOf(appDir, sql));
        await run.begin();
        await importLines(run, file);
        await run.finish();
        return {
          documents: run.documentCount,
          tables: run.tables,
          systemRows: run.systemRows,
          files: run.files.count,
        };
      }),
    { writable: true },
  );
}
