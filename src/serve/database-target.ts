// Which database an app runs on: VALET_DATABASE_URL (or --database) when set — a postgres:// URL,
// or a SQLite file path — else the embedded default, .valet/valet.db.
import { isAbsolute, resolve } from 'node:path';
import { UserError } from '../errors/user-error.js';
import { DATABASE_DISPLAY_PATH, databasePathOf } from '../project/paths.js';
import { describePostgresUrl, isPostgresUrl } from '../storage/postgres/url.js';

export interface DatabaseTarget {
  /** What the engine opens: a file path or a postgres:// URL. */
  database: string;
  /** The same for messages: a path relative to the app, or the URL without its password. */
  display: string;
  backend: 'sqlite' | 'postgres';
  /** The same database however it is spelled (a path resolved, a URL without user or password): names its running servers. */
  identity: string;
}

function postgresIdentity(url: string): string {
  const parsed = new URL(url);
  return `postgres://${parsed.hostname.toLowerCase()}:${parsed.port || '5432'}${decodeURIComponent(parsed.pathname) || '/'}`;
}

export function databaseTargetOf(
  appDir: string,
  env: NodeJS.ProcessEnv = process.env,
  override?: string,
): DatabaseTarget {
  const given = (override ?? env.VALET_DATABASE_URL ?? '').trim();
  if (given === '')
    return {
      database: databasePathOf(appDir),
      display: DATABASE_DISPLAY_PATH,
      backend: 'sqlite',
      identity: resolve(databasePathOf(appDir)),
    };
  if (isPostgresUrl(given)) {
    try {
      new URL(given);
    } catch {
      throw new UserError(
        `VALET_DATABASE_URL is not a valid URL: expected postgres://user:password@host:5432/database`,
      );
    }
    return {
      database: given,
      display: describePostgresUrl(given),
      backend: 'postgres',
      identity: postgresIdentity(given),
    };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(given)) {
    throw new UserError(
      `VALET_DATABASE_URL "${given.split('://')[0]}://…" is not supported: give a postgres:// URL, or a path to a SQLite file`,
    );
  }
  const path = isAbsolute(given) ? given : resolve(appDir, given);
  return { database: path, display: given, backend: 'sqlite', identity: resolve(path) };
}
