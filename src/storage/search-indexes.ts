// Search indexes as tables beside the documents: one row per document whose search field has
// words (its id, the words as ./search-text.ts folds them, its length norm), with the engine's
// full-text index over the words (the dialect's `search`). Rows are written by DocumentStore in
// the document write's own transaction, so a search sees exactly what a query would. The schema's
// definitions are recorded in _valet_meta (`search:<table name>`): a new index is built from the
// documents already stored (reporting progress), a changed one rebuilt, a removed one dropped.
import { createHash } from 'node:crypto';
import type { SchemaDefinition, SearchIndexDefinition } from '../server/schema.js';
import { tableDefinition } from '../server/schema.js';
import { indexedTerms } from './search-text.js';
import type { SqlExecutor } from './sql.js';
import { quoteIdentifier } from './sql.js';

const PREFIX = 'valet_search__';
/** Room under PostgreSQL's 63 bytes for the suffixes the dialects add (`__words`). */
const MAX_NAME = 52;
const BACKFILL_BATCH = 500;
/** Rows per INSERT while building (bounded by parameters per statement). */
const INSERT_ROWS = 100;

export function sqlSearchTableName(table: string, index: string): string {
  const name = `${PREFIX}${table}__${index}`;
  if (Buffer.byteLength(name) <= MAX_NAME) return name;
  return `${PREFIX}${table.slice(0, 12)}__${createHash('sha1').update(`${table}\u0000${index}`).digest('hex').slice(0, 16)}`;
}

export function searchIndexesOf(schema: SchemaDefinition<any> | null, table: string): readonly SearchIndexDefinition[] {
  return (tableDefinition(schema, table)?.searchIndexes as readonly SearchIndexDefinition[] | undefined) ?? [];
}

// Relevance is BM25's shape, from the document alone: per word, tf / (tf + norm), where norm grows
// with the document's length (k1 = 1.2, b = 0.75, against a fixed typical length rather than the
// corpus average). With no corpus statistics a document's place in the results depends only on its
// own text, so pages of a search stay exact while other documents change, and both backends agree.
const K1 = 1.2;
const B = 0.75;
const TYPICAL_WORDS = 24;

export function lengthNorm(words: number): number {
  return K1 * (1 - B + (B * words) / TYPICAL_WORDS);
}

function rowOf(id: string, value: unknown): [string, string, number] | null {
  const terms = indexedTerms(value);
  return terms ? [id, terms.terms, lengthNorm(terms.count)] : null;
}

/**
 * Keeps a table's search indexes in step with one document write (inside its transaction):
 * `before` and `after` are the document's fields before and after (null: absent).
 */
export async function syncSearchRows(
  sql: SqlExecutor,
  schema: SchemaDefinition<any> | null,
  table: string,
  id: string,
  before: Record<string, unknown> | null,
  after: Record<string, unknown> | null,
): Promise<void> {
  for (const index of searchIndexesOf(schema, table)) {
    const old = before ? indexedTerms(before[index.searchField]) : null;
    const next = after ? rowOf(id, after[index.searchField]) : null;
    if (old?.terms === next?.[1]) continue;
    const name = quoteIdentifier(sqlSearchTableName(table, index.name));
    if (old) await sql.run(`DELETE FROM ${name} WHERE id = ?`, [id]);
    if (next) await sql.run(`INSERT INTO ${name} (id, terms, norm) VALUES (?, ?, ?)`, next);
  }
}

export interface SearchIndexProgress {
  /** `table.index`. */
  index: string;
  done: number;
  total: number;
}

/** What one build did, for the ready line and the log. */
export interface BuiltSearchIndex {
  index: string;
  documents: number;
}

/** For ready lines: `search indexes built: messages.search_body (1,200 documents)`, or null. */
export function describeSearchBuilds(built: readonly BuiltSearchIndex[]): string | null {
  if (built.length === 0) return null;
  const list = built.map((b) => `${b.index} (${b.documents.toLocaleString('en')} documents)`).join(', ');
  return `search index${built.length === 1 ? '' : 'es'} built: ${list}`;
}

function definitionOf(table: string, index: SearchIndexDefinition): string {
  // Filter fields are read from the documents at search time: only what the rows hold counts.
  return JSON.stringify({ table, index: index.name, searchField: index.searchField, version: 1 });
}

/** Fills a new search index from the documents already stored, in batches, reporting progress. */
async function backfill(
  sql: SqlExecutor,
  table: string,
  index: SearchIndexDefinition,
  name: string,
  onProgress?: (progress: SearchIndexProgress) => void,
): Promise<number> {
  const dialect = sql.dialect;
  const label = `${table}.${index.name}`;
  const total = Number(
    (await sql.get<{ n: number }>('SELECT COUNT(*) AS n FROM _valet_documents WHERE tbl = ?', [table]))?.n ?? 0,
  );
  let done = 0;
  let after = '';
  for (;;) {
    const batch = await sql.all<{ id: string; doc: unknown }>(
      `SELECT id, ${dialect.documentColumn} FROM _valet_documents WHERE tbl = ? AND id > ? ORDER BY id LIMIT ${BACKFILL_BATCH}`,
      [table, after],
    );
    if (batch.length === 0) break;
    const rows: [string, string, number][] = [];
    for (const row of batch) {
      const indexed = rowOf(row.id, dialect.documentOf(row.doc).fields[index.searchField]);
      if (indexed) rows.push(indexed);
    }
    for (let i = 0; i < rows.length; i += INSERT_ROWS) {
      const chunk = rows.slice(i, i + INSERT_ROWS);
      await sql.run(
        `INSERT INTO ${quoteIdentifier(name)} (id, terms, norm) VALUES ${chunk.map(() => '(?, ?, ?)').join(', ')}`,
        chunk.flat(),
      );
    }
    done += batch.length;
    after = batch[batch.length - 1]!.id;
    onProgress?.({ index: label, done, total });
  }
  return done;
}

/**
 * Makes the database's search indexes match the schema, inside the caller's write transaction:
 * builds new ones (and, with `rebuild`, every one: after an import), drops ones it no longer declares.
 */
export async function applySearchIndexes(
  sql: SqlExecutor,
  schema: SchemaDefinition<any> | null,
  options: { rebuild?: boolean; onProgress?: (progress: SearchIndexProgress) => void } = {},
): Promise<{ built: BuiltSearchIndex[]; dropped: string[] }> {
  const search = sql.dialect.search;
  const recorded = new Map(
    (await sql.all<{ key: string; value: string }>("SELECT key, value FROM _valet_meta WHERE key LIKE 'search:%'")).map(
      (row) => [row.key.slice('search:'.length), row.value],
    ),
  );
  const wanted = new Map<string, { table: string; index: SearchIndexDefinition; definition: string }>();
  for (const table of Object.keys(schema?.tables ?? {})) {
    for (const index of searchIndexesOf(schema, table)) {
      wanted.set(sqlSearchTableName(table, index.name), { table, index, definition: definitionOf(table, index) });
    }
  }
  const dropped: string[] = [];
  for (const [name, definition] of recorded) {
    if (!options.rebuild && wanted.get(name)?.definition === definition) continue;
    await sql.exec(search.drop(name));
    await sql.run('DELETE FROM _valet_meta WHERE key = ?', [`search:${name}`]);
    if (!wanted.has(name)) dropped.push(name);
  }
  const built: BuiltSearchIndex[] = [];
  for (const [name, { table, index, definition }] of wanted) {
    if (!options.rebuild && recorded.get(name) === definition) continue;
    // A table left by a build that recorded nothing (it cannot be trusted): made again.
    await sql.exec(search.drop(name));
    await sql.exec(search.create(name));
    const documents = await backfill(sql, table, index, name, options.onProgress);
    await sql.run('INSERT INTO _valet_meta (key, value) VALUES (?, ?)', [`search:${name}`, definition]);
    built.push({ index: `${table}.${index.name}`, documents });
  }
  return { built, dropped };
}
