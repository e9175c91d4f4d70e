// How a running server announces itself, so that `valet run`, `valet cron trigger`, `valet
// dashboard` and the inspection commands reach it, and a second server on the same SQLite file
// refuses to start. One record per database (.valet/servers/<hash>.json): `valet dev` on the
// embedded file and `valet start --database postgres://…` in the same folder each keep their own,
// and a command finds the server of the database it would touch. A record left by a killed server
// (its pid gone, or not answering) counts as absent.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors/user-error.js';
import { serverRecordsDirOf } from './paths.js';

export interface ServerRecord {
  url: string;
  pid: number;
  /** The database it serves, as messages show it (no password). */
  database: string;
}

/** A database as running-server records know it: its identity and how messages show it. */
export interface ServedDatabase {
  identity: string;
  display: string;
}

function recordPath(appDir: string, database: ServedDatabase): string {
  return join(
    serverRecordsDirOf(appDir),
    `${createHash('sha256').update(database.identity).digest('hex').slice(0, 16)}.json`,
  );
}

function readRecord(path: string): ServerRecord | null {
  if (!existsSync(path)) return null;
  try {
    const record = JSON.parse(readFileSync(path, 'utf8')) as Partial<ServerRecord>;
    return typeof record.url === 'string' && Number.isInteger(record.pid)
      ? ({ database: '', ...record } as ServerRecord)
      : null;
  } catch {
    return null;
  }
}

/** Whether a process with this pid exists (signal 0 checks without signalling). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function answers(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/api/health`, { signal: AbortSignal.timeout(1000) });
    return response.ok;
  } catch {
    return false;
  }
}

async function live(record: ServerRecord | null): Promise<ServerRecord | null> {
  if (!record || record.pid === process.pid || !isAlive(record.pid)) return null;
  return (await answers(record.url)) ? record : null;
}

/** The server of this app that serves `database`, if one is running (alive and answering), else null. */
export async function findRunningServer(appDir: string, database: ServedDatabase): Promise<ServerRecord | null> {
  return live(readRecord(recordPath(appDir, database)));
}

/** Every running server of this app, whatever database each serves. */
export async function listRunningServers(appDir: string): Promise<ServerRecord[]> {
  const dir = serverRecordsDirOf(appDir);
  if (!existsSync(dir)) return [];
  const records = await Promise.all(
    readdirSync(dir)
      .filter((name) => name.endsWith('.json'))
      .map((name) => live(readRecord(join(dir, name)))),
  );
  return records.filter((record): record is ServerRecord => record !== null);
}

/**
 * Refuses to serve a SQLite file that already has a live server: two servers on one file would
 * each run the background work twice. A stale record is simply replaced later by `announceServer`.
 */
export async function refuseSecondServer(appDir: string, database: ServedDatabase): Promise<void> {
  const record = readRecord(recordPath(appDir, database));
  if (!record || record.pid === process.pid || !isAlive(record.pid)) return;
  // Alive but not answering: the pid now belongs to some other process.
  if (!(await answers(record.url))) return;
  throw new UserError(
    `${database.display} is already served by a Valet server at ${record.url} (pid ${record.pid}); stop it first, or use that one`,
  );
}

export function announceServer(appDir: string, database: ServedDatabase, url: string): void {
  const path = recordPath(appDir, database);
  mkdirSync(serverRecordsDirOf(appDir), { recursive: true });
  writeFileSync(
    path,
    `${JSON.stringify({ url, pid: process.pid, database: database.display } satisfies ServerRecord)}\n`,
  );
}

/** Removes this process's record of `database`, never another server's. */
export function withdrawServer(appDir: string, database: ServedDatabase): void {
  const path = recordPath(appDir, database);
  if (readRecord(path)?.pid === process.pid) rmSync(path, { force: true });
}
