// Where an app keeps its local state, and how a running server announces itself there so that
// `valet run` and the inspection commands can find it.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function stateDirOf(appDir: string): string {
  return join(appDir, '.valet');
}

export function databasePathOf(appDir: string): string {
  return join(stateDirOf(appDir), 'valet.db');
}

interface ServerInfo {
  url: string;
  pid: number;
}

const infoPath = (appDir: string) => join(stateDirOf(appDir), 'server.json');

export function announceServer(appDir: string, url: string): void {
  writeFileSync(infoPath(appDir), `${JSON.stringify({ url, pid: process.pid } satisfies ServerInfo)}\n`);
}

export function withdrawServer(appDir: string): void {
  try {
    const info = JSON.parse(readFileSync(infoPath(appDir), 'utf8')) as ServerInfo;
    if (info.pid === process.pid) rmSync(infoPath(appDir), { force: true });
  } catch {
    // Nothing announced, or already withdrawn.
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

/** The URL of this app's running server, if one answers; a stale announcement is ignored. */
export async function findRunningServer(appDir: string): Promise<string | null> {
  if (!existsSync(infoPath(appDir))) return null;
  try {
    const info = JSON.parse(readFileSync(infoPath(appDir), 'utf8')) as ServerInfo;
    if (!isAlive(info.pid)) return null;
    const response = await fetch(`${info.url}/api/health`, { signal: AbortSignal.timeout(1000) });
    return response.ok ? info.url : null;
  } catch {
    return null;
  }
}
