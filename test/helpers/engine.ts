// An engine over a temp copy of a fixture app, built the way `valet start` builds it.
import { join } from 'node:path';
import { runCodegen } from '../../src/codegen/index.js';
import { buildAndLoad } from '../../src/bundler/evaluate.js';
import type { Clock } from '../../src/runtime/clock.js';
import { createEngine } from '../../src/runtime/engine.js';
import type { Engine, EngineOptions } from '../../src/runtime/engine.js';
import { listInvocations } from '../../src/runtime/invocations/store.js';
import type { Invoker } from '../../src/server/ctx.js';
import type { FunctionKind } from '../../src/server/functions.js';
import { fixtureApp } from './apps.js';
import { testDatabase } from './database.js';

export interface CallOptions {
  invoker?: Invoker;
  external?: boolean;
  key?: string;
}

export async function engineFor(fixture: string, options: Partial<EngineOptions> = {}) {
  const app = fixtureApp(fixture, []);
  runCodegen(app);
  const stateDir = join(app, '.valet');
  const modules = await buildAndLoad(app);
  const logs: string[] = [];
  const engine = await createEngine({
    modules,
    ...testDatabase(stateDir),
    log: (line) => logs.push(line),
    env: {},
    ...options,
  });
  const call = (kind: FunctionKind, path: string, args: unknown = {}, opts: CallOptions = {}) =>
    engine.call({
      kind,
      path,
      args,
      invoker: opts.invoker ?? { type: 'anonymous' },
      external: opts.external ?? true,
      idempotencyKey: opts.key ?? null,
    });
  /** The value of a successful call; throws with the error body otherwise. */
  const value = async (kind: FunctionKind, path: string, args: unknown = {}, opts: CallOptions = {}) => {
    const response = await call(kind, path, args, opts);
    if (response.status !== 200) throw new Error(`${path} → ${response.status} ${JSON.stringify(response.body)}`);
    return (response.body as { value: any }).value;
  };
  return { app, stateDir, engine, call, value, logs };
}

/** A clock that moves only when told: timers fire on `advance`. */
export class ManualClock implements Clock {
  private current = Date.UTC(2026, 10, 21, 9, 0, 0);
  private timers: { at: number; ms: number; callback: () => void; id: number }[] = [];
  private nextId = 1;
  now(): number {
    return this.current;
  }
  setTimeout(callback: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.push({ at: this.current + ms, ms, callback, id });
    return id;
  }
  /**
   * Resolves once `count` timers of `ms` are pending (an action's deadline, say): advancing the
   * clock before the code under test set its timer would skip it. Polled, with a generous deadline.
   */
  async timersSet(ms: number, count = 1, timeoutMs = 30_000): Promise<void> {
    const started = Date.now();
    while (this.timers.filter((t) => t.ms === ms).length < count) {
      if (Date.now() - started > timeoutMs) throw new Error(`no ${count} timer(s) of ${ms} ms were set`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }
  advance(ms: number): void {
    this.current += ms;
    const due = this.timers.filter((t) => t.at <= this.current).sort((a, b) => a.at - b.at);
    this.timers = this.timers.filter((t) => t.at > this.current);
    for (const timer of due) timer.callback();
  }
}

/**
 * Resolves once `count` invocations of `path` are recorded as running (the handler has been
 * claimed and started): what a test waits for before calling again with the same key.
 */
export async function runningInvocation(engine: Engine, path: string, count = 1, timeoutMs = 30_000): Promise<void> {
  const started = Date.now();
  for (;;) {
    const running = await listInvocations(engine.connections.autoCommit.sql, { function: path, status: 'running' });
    if (running.length >= count) return;
    if (Date.now() - started > timeoutMs) throw new Error(`no ${count} running invocation(s) of ${path}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
