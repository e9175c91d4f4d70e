// Schema indexes as real database indexes: one partial expression index per declared index,
// over the document table, ordered as queries read it (fields, then creation time and id). The
// definition each index was made from is recorded in _valet_meta, so a changed definition is
// rebuilt and an index the schema no longer declares is dropped, on either backend.
import { createHash } from 'node:crypto';
import type { SchemaDefinition } from '../server/schema.js';
import type { OrderColumn, SqlExecutor } from './sql.js';
import { quoteIdentifier } from './sql.js';

const PREFIX = 'valet_index__';
/** PostgreSQL truncates identifiers past 63 bytes: longer names are shortened with a hash. */
const MAX_NAME = 63;

export function sqlIndexName(table: string, index: string): string {
  const name = `${PREFIX}${table}__${index}`;
  if (Buffer.byteLength(name) <= MAX_NAME) return name;
  return `${PREFIX}${table.slice(0, 20)}__${createHash('sha1').update(`${table}\u0000${index}`).digest('hex').slice(0, 16)}`;
}

/**
 * Makes the database's indexes match the schema: creates new ones, recreates changed ones, drops
 * ones the schema no longer declares. Runs inside the caller's write transaction.
 */
export async function applySchemaIndexes(
  sql: SqlExecutor,
  schema: SchemaDefinition<any> | null,
): Promise<{ created: string[]; dropped: string[] }> {
  const dialect = sql.dialect;
  const existing = new Set((await sql.all<{ name: string }>(dialect.listIndexes)).map((row) => row.name));
  const recorded = new Map(
    (await sql.all<{ key: string; value: string }>("SELECT key, value FROM _valet_meta WHERE key LIKE 'index:%'")).map(
      (row) => [row.key.slice(6), row.value],
    ),
  );
  const wanted = new Map<string, string>();
  for (const [table, definition] of Object.entries(schema?.tables ?? {})) {
    for (const index of (definition as { indexes: { name: string; fields: string[] }[] }).indexes) {
      const columns: OrderColumn[] = [
        ...index.fields.map(
          (field): OrderColumn => ({
            sql: dialect.field(field),
            kind: field === '_creationTime' ? 'number' : field === '_id' ? 'text' : 'field',
          }),
        ),
        { sql: 'creation_time', kind: 'number' },
        { sql: 'id', kind: 'text' },
      ];
      const name = sqlIndexName(table, index.name);
      wanted.set(
        name,
        dialect.createIndex(
          name,
          table,
          columns.filter((c, i) => columns.findIndex((d) => d.sql === c.sql) === i),
        ),
      );
    }
  }
  const created: string[] = [];
  const dropped: string[] = [];
  for (const name of new Set([...existing, ...recorded.keys()])) {
    if (wanted.get(name) === recorded.get(name) && existing.has(name)) continue;
    if (existing.has(name)) {
      await sql.exec(`DROP INDEX ${quoteIdentifier(name)}`);
      dropped.push(name);
    }
    await sql.run('DELETE FROM _valet_meta WHERE key = ?', [`index:${name}`]);
  }
  for (const [name, definition] of wanted) {
    if (recorded.get(name) === definition && existing.has(name)) continue;
    await sql.exec(definition);
    await sql.run('INSERT INTO _valet_meta (key, value) VALUES (?, ?)', [`index:${name}`, definition]);
    created.push(name);
  }
  return { created, dropped };
}
