import type Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { relative } from 'node:path';
import { CliError } from './errors.js';

/** Opens the app's database for inspection, read-only unless asked (safe beside a running server: WAL). */
export async function openAppDatabase(appDir: string, options: { writable?: boolean } = {}): Promise<Database.Database> {
  const { databasePathOf } = await import('../devserver/state.js');
  const { openDatabase } = await import('../storage/open.js');
  const file = databasePathOf(appDir);
  if (!existsSync(file)) throw new CliError(`no database yet at ${relative(process.cwd(), file) || file}: start the app (valet start) or call a function (valet run) first`);
  try {
    return openDatabase(file, { readonly: !options.writable });
  } catch (error) {
    throw new CliError((error as Error).message);
  }
}
