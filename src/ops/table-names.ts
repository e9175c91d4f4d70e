// Which tables an app has, for commands that take a table name: those valet/schema.ts declares
// and those that hold documents. A name in neither is a typo, refused with the list, where
// "no documents" would send the user looking for data that was never there.
import { buildAndLoad } from '../bundler/evaluate.js';
import { UserError } from '../errors/user-error.js';
import { buildRegistry } from '../runtime/registry.js';
import { listTables } from '../storage/browse.js';
import type { SqlExecutor } from '../storage/sql.js';

async function declaredTables(appDir: string): Promise<string[] | null> {
  try {
    const schema = buildRegistry(await buildAndLoad(appDir)).schema;
    return schema ? Object.keys(schema.tables) : null;
  } catch {
    // A broken valet/ must not stop browsing the data: the stored tables still answer.
    return null;
  }
}

/** Throws a UserError naming the known tables when `table` is neither declared nor stored. */
export async function requireKnownTable(appDir: string, sql: SqlExecutor, table: string): Promise<void> {
  const stored = (await listTables(sql)).map((t) => t.table);
  if (stored.includes(table)) return;
  const declared = await declaredTables(appDir);
  if (declared?.includes(table)) return;
  const known = [...new Set([...(declared ?? []), ...stored])].sort();
  throw new UserError(
    `no table ${JSON.stringify(table)}: ${known.length ? `the tables are ${known.join(', ')}` : 'the app has no tables yet'}`,
  );
}
