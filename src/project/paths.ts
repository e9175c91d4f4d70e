// Every path of an app's local state, in one place. `.valet/` is git-ignored and holds what
// `valet dev` and `valet start` create: the database, the keys, the function logs and the record
// of the running server.
import { join } from 'node:path';

export const STATE_DIR = '.valet';

export function stateDirOf(appDir: string): string {
  return join(appDir, STATE_DIR);
}

export function databasePathOf(appDir: string): string {
  return join(stateDirOf(appDir), 'valet.db');
}

/** The same, as a user reads it in messages (relative to the app). */
export const DATABASE_DISPLAY_PATH = join(STATE_DIR, 'valet.db');

export function logsPathOf(appDir: string): string {
  return join(stateDirOf(appDir), 'logs.ndjson');
}

/** One record per database a server of this app serves (several may, on different databases). */
export function serverRecordsDirOf(appDir: string): string {
  return join(stateDirOf(appDir), 'servers');
}

/** What codegen and the static rules read of each module (codegen/analysis-cache.ts). */
export function codegenCachePathOf(appDir: string): string {
  return join(stateDirOf(appDir), 'codegen-cache.json');
}

export function devKeyPathOf(appDir: string): string {
  return join(stateDirOf(appDir), 'dev-signing-key.json');
}

export function adminKeyPathOf(appDir: string): string {
  return join(stateDirOf(appDir), 'admin-key');
}

export function vapidKeysPathOf(appDir: string): string {
  return join(stateDirOf(appDir), 'vapid-keys.json');
}

/** Bundles evaluated by `vm` are named here so stack traces point somewhere recognisable. */
export function bundleFilenameOf(appDir: string, n: number): string {
  return join(stateDirOf(appDir), `bundle-${n}.js`);
}
