// How a running server announces itself in .valet/server.json, so that `valet run`, `valet cron
// trigger` and the inspection commands reach it, and a second server on the same app refuses to
// start. A record left by a killed server (its pid gone, or not answering) counts as absent.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { UserError } from '../errors/user-error.js';
import { serverRecordPathOf } from './paths.js';

export interface ServerRecord {
  url: string;
  pid: number;
}

function readRecord(appDir: string): ServerRecord | null {
  const path = serverRecordPathOf(appDir);
  if (!existsSync(path)) return null;
  try {
    const record = JSON.parse(readFileSync(path, 'utf8')) as Partial<ServerRecord>;
    return typeof record.url === 'string' && Number.isInteger(record.pid) ? (record as ServerRecord) : null;
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

/** The record of this app's server if one is running (alive and answering), else null. */
export async function findRunningServer(appDir: string): Promise<ServerRecord | null> {
  const record = readRecord(appDir);
  if (!record || record.pid === process.pid || !isAlive(record.pid)) return null;
  return (await answers(record.url)) ? record : null;
}

/**
 * Refuses to serve an app that already has a live server: two servers on one SQLite file would
 * each run the background work twice. A stale record is simply replaced later by `announceServer`.
 */
export async function refuseSecondServer(appDir: string): Promise<void> {
  const record = readRecord(appDir);
  if (!record || record.pid === process.pid || !isAlive(record.pid)) return;
  // Alive but not answering: the pid now belongs to some other process.
  if (!(await answers(record.url))) return;
  throw new UserError(`this app already has a running Valet server at ${record.url} (pid ${record.pid}); stop it first, or use that one`);
}

export function announceServer(appDir: string, url: string): void {
  const path = serverRecordPathOf(appDir);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify({ url, pid: process.pid } satisfies ServerRecord)}\n`);
}

export function withdrawServer(appDir: string): void {
  if (readRecord(appDir)?.pid === process.pid) rmSync(serverRecordPathOf(appDir), { force: true });
}
