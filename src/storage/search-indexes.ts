// Search indexes as tables beside the documents: one row per document whose search field has
// words (its id and creation time, the words as ./search-text.ts folds them, its length norm, a
// token per filter field's value), with the engine's full-text index over words and tokens (the
// dialect's `search`), so a search and its filters are answered by that index alone. Rows are
// written by DocumentStore in the document write's own transaction, so a search sees exactly what
// a query would. The schema's definitions are recorded in _valet_meta (`search:<table name>`): a
// new index is built from the documents already stored (reporting progress), a changed one
// rebuilt, a removed one dropped.
import { createHash } from 'node:crypto';
import { decodeValue, encodeValue, mayHoldEncodedValues } from '../protocol/values.js';
import type { SchemaDefinition, SearchIndexDefinition } from '../server/schema.js';
import { tableDefinition } from '../server/schema.js';
import type { BuiltSearchIndex } from './search-builds.js';
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

// Relevance (after how many of the words a document holds) is BM25's shape, from the document
// alone: per word, tf / (tf + norm), where norm grows
// with the document's length (k1 = 1.2, b = 0.75, against a fixed typical length rather than the
// corpus average). With no corpus statistics a document's place in the results depends only on its
// own text, so pages of a search stay exact while other documents change, and both backends agree.
const K1 = 1.2;
const B = 0.75;
const TYPICAL_WORDS = 24;

export function lengthNorm(words: number): number {
  return K1 * (1 - B + (B * words) / TYPICAL_WORDS);
}

/**
 * A filter field's value as a token of the full-text index: the field's place in the index and a
 * hash of the value's JSON (a missing field is null, as in indexes), letters and digits only.
 */
export function filterToken(position: number, value: unknown): string {
  const json = JSON.stringify(encodeValue(value === undefined ? null : value));
  return `f${position}x${createHash('sha256').update(json).digest('hex').slice(0, 20)}`;
}

/** The value at a field or a dotted path into nested objects (undefined where there is none). */
function valueAt(fields: Record<string, unknown>, path: string): unknown {
  let value: unknown = fields;
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object' || Array.isArray(value) || !Object.hasOwn(value, part))
      return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

type SearchRow = [id: string, created: number, terms: string, norm: number, filters: string];

function rowOf(
  index: SearchIndexDefinition,
  id: string,
  created: number,
  fields: Record<string, unknown>,
): SearchRow | null {
  const terms = indexedTerms(valueAt(fields, index.searchField));
  if (!terms) return null;
  const filters = index.filterFields.map((field, i) => `~${filterToken(i, valueAt(fields, field))}`).join(' ');
  return [id, created, terms.terms, lengthNorm(terms.count), filters];
}

const INSERT_COLUMNS = '(id, created, terms, norm, filters)';

/**
 * Keeps a table's search indexes in step with one document write (inside its transaction):
 * `before` and `after` are the document's fields before and after (null: absent); `created` is
 * its creation time.
 */
export async function syncSearchRows(
  sql: SqlExecutor,
  schema: SchemaDefinition<any> | null,
  table: string,
  id: string,
  created: number,
  before: Record<string, unknown> | null,
  after: Record<string, unknown> | null,
): Promise<void> {
  for (const index of searchIndexesOf(schema, table)) {
    const old = before ? rowOf(index, id, created, before) : null;
    const next = after ? rowOf(index, id, created, after) : null;
    if (old?.[2] === next?.[2] && old?.[4] === next?.[4]) continue;
    const name = quoteIdentifier(sqlSearchTableName(table, index.name));
    if (old) await sql.run(`DELETE FROM ${name} WHERE id = ?`, [id]);
    if (next) await sql.run(`INSERT INTO ${name} ${INSERT_COLUMNS} VALUES (?, ?, ?, ?, ?)`, next);
  }
}

export interface SearchIndexProgress {
  /** `table.index`. */
  index: string;
  done: number;
  total: number;
}

/** What one build did, for the ready line and the log. */
function definitionOf(table: string, index: SearchIndexDefinition): string {
  return JSON.stringify({ table, ...index, version: 2 });
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
    const batch = await sql.all<{ id: string; creation_time: number; doc: unknown }>(
      `SELECT id, creation_time, ${dialect.documentColumn} FROM _valet_documents WHERE tbl = ? AND id > ? ORDER BY id LIMIT ${BACKFILL_BATCH}`,
      [table, after],
    );
    if (batch.length === 0) break;
    const rows: SearchRow[] = [];
    for (const row of batch) {
      const { fields, json } = dialect.documentOf(row.doc);
      const stored = json !== null && mayHoldEncodedValues(json) ? (decodeValue(fields) as typeof fields) : fields;
      const indexed = rowOf(index, row.id, Number(row.creation_time), stored);
      if (indexed) rows.push(indexed);
    }
    for (let i = 0; i < rows.length; i += INSERT_ROWS) {
      const chunk = rows.slice(i, i + INSERT_ROWS);
      await sql.run(
        `INSERT INTO ${quoteIdentifier(name)} ${INSERT_COLUMNS} VALUES ${chunk.map(() => '(?, ?, ?, ?, ?)').join(', ')}`,
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
