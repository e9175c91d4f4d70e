// The inspection commands read the app's database directly: read-only unless asked (safe beside
// a running server: WAL lets them read while it writes), with a clear message when there is none.
import type Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { relative } from 'node:path';
import { UserError } from '../errors/user-error.js';
import { databasePathOf } from '../project/paths.js';
import { openDatabase } from '../storage/open.js';

export function openAppDatabase(appDir: string, options: { writable?: boolean } = {}): Database.Database {
  const file = databasePathOf(appDir);
  if (!existsSync(file)) throw new UserError(`no database yet at ${relative(process.cwd(), file) || file}: start the app (valet dev or valet start) or call a function (valet run) first`);
  return openDatabase(file, { readonly: !options.writable });
}
