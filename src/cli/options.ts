// Flag values shared by several commands, checked once with the same messages.
import type { Command } from 'commander';
import { UsageError } from './errors.js';

export function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new UsageError(`--port: expected a port number (1-65535), got "${value}"`);
  return port;
}

export function parseLimit(value: string): number {
  const limit = Number(value);
  if (!Number.isInteger(limit) || limit < 1)
    throw new UsageError(`--limit: expected a positive integer, got "${value}"`);
  return limit;
}

/** Commander collector for repeatable flags (`--allowed-host a --allowed-host b`, or `a,b`). */
export function collect(value: string, previous: string[] = []): string[] {
  return [
    ...previous,
    ...value
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean),
  ];
}

/**
 * `--database <url|file>` on every command that opens the app's database: it stands for
 * VALET_DATABASE_URL for this run (and wins over the environment and .env files).
 */
export function addDatabaseOption(command: Command): void {
  command
    .option(
      '--database <url>',
      'the database: a postgres:// URL, or a SQLite file (default: VALET_DATABASE_URL, else .valet/valet.db)',
    )
    .hook('preAction', (self) => {
      const database = self.opts().database as string | undefined;
      if (database !== undefined) {
        if (database.trim() === '') throw new UsageError('--database: give a postgres:// URL or a file path');
        process.env.VALET_DATABASE_URL = database;
      }
    });
}

/** The flags every server command shares: where it listens and who may reach it. */
export interface ServeFlags {
  port: string;
  host: string;
  allowedHost?: string[];
  corsOrigin?: string[];
}

export const SERVE_SECURITY_HELP = `
Who may connect: requests must name an allowed Host (localhost, 127.0.0.1, [::1], the --host
address, and --allowed-host / VALET_ALLOWED_HOSTS), and browser pages need an allowed Origin
(--cors-origin / VALET_CORS_ORIGINS; \`*\` allows every origin and must be written explicitly).`;
