// `valet export`: every document of the app's database (and optionally its stored files and the
// system tables) into one archive (storage/archive.ts), read page by page so a large database never
// sits in memory.
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { ARCHIVE_FORMAT, ARCHIVE_VERSION, EXPORTED_META_KEYS, SYSTEM_TABLES } from '../storage/archive.js';
import type { ArchiveEnd, ArchiveHeader } from '../storage/archive.js';
import { storedRows } from '../storage/browse.js';
import type { SqlExecutor } from '../storage/sql.js';
import { dirname } from 'node:path';
import { UserError } from '../errors/user-error.js';
import { systemClock } from '../runtime/clock.js';
import { filesConfigOf, openBlobStore } from '../runtime/files/service.js';
import { databaseTargetOf } from '../serve/database-target.js';
import { fileLines } from './archive-files.js';
import { withAppDatabase } from './open-app-database.js';

export interface ExportOptions {
  /** Where to write; stdout when not given. A name ending in .gz is gzip-compressed. */
  out?: string;
  systemTables?: boolean;
  /** Also every stored file, bytes and all. */
  files?: boolean;
}

export interface ExportSummary {
  documents: number;
  tables: Record<string, number>;
  systemRows: number;
  files: number;
}

async function write(stream: Writable, line: string): Promise<void> {
  if (!stream.write(`${line}\n`)) await once(stream, 'drain');
}

/** Documents in (table, creation time, id) order, read a page at a time. */
async function exportDocuments(sql: SqlExecutor, stream: Writable, tables: Record<string, number>): Promise<number> {
  let count = 0;
  for await (const row of storedRows(sql)) {
    // The stored JSON goes out as it is: nothing is decoded and re-encoded on the way.
    await write(
      stream,
      `{"table":${JSON.stringify(row.tbl)},"_id":${JSON.stringify(row.id)},"_creationTime":${row.creation_time},"doc":${row.doc}}`,
    );
    tables[row.tbl] = (tables[row.tbl] ?? 0) + 1;
    count++;
  }
  return count;
}

async function exportSystemTables(sql: SqlExecutor, stream: Writable): Promise<number> {
  let count = 0;
  for (const table of SYSTEM_TABLES) {
    const where = table === '_valet_meta' ? ` WHERE key IN (${EXPORTED_META_KEYS.map(() => '?').join(', ')})` : '';
    const rows = await sql.all(`SELECT * FROM ${table}${where}`, table === '_valet_meta' ? EXPORTED_META_KEYS : []);
    for (const row of rows) {
      await write(stream, JSON.stringify({ system: table, row }));
      count++;
    }
  }
  return count;
}

/** Stored files, a line each and then their bytes; how many. */
async function exportFiles(appDir: string, sql: SqlExecutor, stream: Writable): Promise<number> {
  const target = databaseTargetOf(appDir);
  let config: ReturnType<typeof filesConfigOf>;
  try {
    config = filesConfigOf(process.env, target.backend);
  } catch (error) {
    throw new UserError((error as Error).message);
  }
  const blobs = openBlobStore({
    backend: target.backend,
    sql,
    now: () => systemClock.now(),
    stateDir: target.backend === 'sqlite' ? dirname(target.database) : null,
    config,
  });
  let count = 0;
  for await (const line of fileLines(sql, blobs)) {
    if (line.startsWith('{"file":')) count++;
    await write(stream, line);
  }
  return count;
}

export async function exportData(appDir: string, options: ExportOptions = {}): Promise<ExportSummary> {
  return withAppDatabase(appDir, async ({ sql }) => {
    const file = options.out ? createWriteStream(options.out) : null;
    const gzip = options.out?.endsWith('.gz') ? createGzip() : null;
    if (gzip && file) gzip.pipe(file);
    const stream: Writable = gzip ?? file ?? process.stdout;
    const header: ArchiveHeader = {
      format: ARCHIVE_FORMAT,
      version: ARCHIVE_VERSION,
      exportedAt: new Date().toISOString(),
      source: sql.dialect.name,
      systemTables: options.systemTables ?? false,
      files: options.files ?? false,
    };
    await write(stream, JSON.stringify(header));
    const tables: Record<string, number> = {};
    const documents = await exportDocuments(sql, stream, tables);
    const files = options.files ? await exportFiles(appDir, sql, stream) : 0;
    const systemRows = options.systemTables ? await exportSystemTables(sql, stream) : 0;
    const end: ArchiveEnd = { end: true, documents, systemRows, ...(options.files ? { files } : {}) };
    await write(stream, JSON.stringify(end));
    if (stream !== process.stdout) {
      stream.end();
      await once(file!, 'close');
    }
    return { documents, tables, systemRows, files };
  });
}
