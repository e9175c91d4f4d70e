// Where valet dev's background type checks are started from. Spawning tsc from valet dev itself
// forks a process of a few hundred MB: that stops its event loop for 7–27 ms on a VM, right after
// a reload swaps in new code, when the first requests to it arrive. A small helper process,
// started once with valet dev, does the spawning instead. It runs at the lowest CPU priority, and
// so does every tsc it starts (a child inherits it, threads and all), so a type check takes the
// cores only when the server does not need them. Where the helper cannot start or dies, tsc is
// spawned here, as before: a type check is never lost to it.
import { type ChildProcess, spawn } from 'node:child_process';
import type { CompilerRun, RunCompiler } from '../check/typecheck.js';
import { spawnCompiler } from '../check/typecheck.js';

// CommonJS, run with `node -e`: no file to find in dist/ or src/, and nothing to load but Node.
const HELPER_SOURCE = `
const { spawn } = require('node:child_process');
try { require('node:os').setPriority(19); } catch {}
const running = new Set();
process.on('message', ({ id, command, args, cwd }) => {
  let output = '';
  let answered = false;
  const answer = (message) => {
    if (answered) return;
    answered = true;
    if (process.connected) process.send({ id, ...message });
  };
  const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  child.on('error', (error) => answer({ error: error.message }));
  child.on('close', (code) => {
    running.delete(child);
    answer({ code, output });
  });
});
// valet dev went away (closed, or killed): no type check outlives it.
process.on('disconnect', () => {
  for (const child of running) child.kill();
  process.exit(0);
});
`;

type Answer = { id: number; code: number | null; output: string } | { id: number; error: string };

export class TypecheckHost {
  private helper: ChildProcess | null = null;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (run: CompilerRun) => void; reject: (e: Error) => void }>();

  /** The helper's process id while it runs (for diagnostics and tests). */
  get helperPid(): number | null {
    return this.helper?.connected ? (this.helper.pid ?? null) : null;
  }

  /** Starts the helper (where it cannot start, or dies, `run` spawns tsc directly). */
  start(): void {
    let helper: ChildProcess;
    try {
      helper = spawn(process.execPath, ['-e', HELPER_SOURCE], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    } catch {
      return;
    }
    this.helper = helper;
    helper.on('message', (answer: Answer) => {
      const waiter = this.waiting.get(answer.id);
      if (!waiter) return;
      this.waiting.delete(answer.id);
      if ('error' in answer) waiter.reject(new Error(answer.error));
      else waiter.resolve({ code: answer.code, output: answer.output });
    });
    // The helper died (or could not start): what it was running is run here instead.
    const lost = () => {
      if (this.helper !== helper) return;
      this.helper = null;
      const waiting = [...this.waiting.values()];
      this.waiting.clear();
      for (const waiter of waiting) waiter.reject(new HelperLost());
    };
    helper.on('error', lost);
    helper.on('exit', lost);
    // It must not keep valet dev's process alive on its own.
    helper.unref();
    (helper.channel as { unref?: () => void } | undefined)?.unref?.();
  }

  readonly run: RunCompiler = async (command, args, cwd) => {
    const helper = this.helper;
    if (!helper?.connected) return spawnCompiler(command, args, cwd);
    const id = this.nextId++;
    try {
      return await new Promise<CompilerRun>((resolve, reject) => {
        this.waiting.set(id, { resolve, reject });
        helper.send({ id, command, args, cwd }, (error) => {
          if (!error) return;
          this.waiting.delete(id);
          reject(new HelperLost());
        });
      });
    } catch (error) {
      if (error instanceof HelperLost) return spawnCompiler(command, args, cwd);
      throw error;
    }
  };

  /** Ends the helper, and with it any type check still running. */
  close(): void {
    const helper = this.helper;
    this.helper = null;
    if (helper?.connected) helper.disconnect();
    for (const waiter of this.waiting.values()) waiter.reject(new Error('valet dev closed'));
    this.waiting.clear();
  }
}

class HelperLost extends Error {}
