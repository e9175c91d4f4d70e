// A long-running child of the built CLI (valet start): wait for a line, stop it, always kill it.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { VALET_BIN } from './apps.js';

export interface RunningValet {
  child: ChildProcess;
  output(): string;
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  exited: Promise<number | null>;
  /** Signals it and waits for its exit; past the deadline it is killed and the wait fails with its output. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
}

const running = new Set<ChildProcess>();

export interface SpawnOptions {
  /** A limit on open files for the child (prlimit execs the CLI in its place: same pid). */
  openFiles?: number;
}

export function spawnValet(
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = {},
  options: SpawnOptions = {},
): RunningValet {
  const command = [process.execPath, VALET_BIN, ...args];
  if (options.openFiles !== undefined)
    command.unshift('prlimit', `--nofile=${options.openFiles}:${options.openFiles}`, '--');
  const child = spawn(command[0]!, command.slice(1), {
    cwd,
    env: { ...process.env, NO_COLOR: '1', VALET_SHUTDOWN_DRAIN_MS: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let text = '';
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    text += chunk.toString();
    for (const listener of listeners) listener();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      running.delete(child);
      for (const listener of listeners) listener();
      resolve(code);
    }),
  );
  return {
    child,
    output: () => text,
    exited,
    waitFor(pattern, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => done(new Error(`timed out waiting for ${pattern}; output so far:\n${text}`)),
          timeoutMs,
        );
        const check = () => {
          const match = text.match(pattern);
          if (match) return done(null, match);
          if (child.exitCode !== null)
            done(new Error(`valet exited (${child.exitCode}) before ${pattern}; output:\n${text}`));
        };
        function done(error: Error | null, match?: RegExpMatchArray) {
          clearTimeout(timer);
          listeners.delete(check);
          if (error) reject(error);
          else resolve(match!);
        }
        listeners.add(check);
        check();
      });
    },
    async stop(signal = 'SIGINT', timeoutMs = 60_000) {
      if (child.exitCode === null) child.kill(signal);
      let timer: NodeJS.Timeout | undefined;
      const overran = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`valet did not exit within ${timeoutMs} ms of ${signal}; output:\n${text.slice(-4000)}`));
        }, timeoutMs);
      });
      try {
        return await Promise.race([exited, overran]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** Kills every child still running (for afterAll / finally). */
export function killAll(): void {
  for (const child of running) child.kill('SIGKILL');
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
