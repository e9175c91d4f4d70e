// `valet migrate` as a programmatic API: list the data migrations with their state, or run them —
// through the app's running server when there is one (its live queries see each batch; the run
// goes on there if this command is stopped), else in-process on the database, where a stop
// (Ctrl-C) ends the run after its batch and the next `valet migrate` resumes from there.
import { UserError } from '../errors/user-error.js';
import type { Engine } from '../runtime/engine.js';
import { EngineError } from '../runtime/errors.js';
import type { MigrationOutcome, MigrationProgress } from '../runtime/migrations/runner.js';
import type { MigrationState } from '../runtime/migrations/store.js';
import { listMigrations } from '../runtime/migrations/store.js';
import type { ServerHandle } from './server-or-local.js';
import { throughServerOrInProcess } from './server-or-local.js';

export interface MigrateOptions {
  appDir: string;
  /** One migration (module:export); all that are not done when absent. */
  name?: string;
  dryRun?: boolean;
  restart?: boolean;
  onProgress?: (progress: MigrationProgress) => void;
  /** Called with a function that stops an in-process run after its current batch (Ctrl-C). */
  onStoppable?: (stop: () => Promise<void>) => void;
}

const POLL_MS = 250;

async function serverJson<T>(response: Response): Promise<T> {
  const body = (await response.json()) as T & { message?: string };
  if (!response.ok) throw new UserError(body.message ?? `the server answered ${response.status}`);
  return body;
}

function definedOf(engine: Engine) {
  return new Map([...engine.registry.migrations].map(([name, m]) => [name, { table: m.table }]));
}

export async function migrationStates(appDir: string): Promise<MigrationState[]> {
  const { migrations } = await throughServerOrInProcess(appDir, {
    viaServer: async (server) => serverJson<{ migrations: MigrationState[] }>(await server.fetch('/admin/migrations')),
    inProcess: async (engine) => ({
      migrations: await listMigrations(engine.connections.autoCommit.sql, definedOf(engine)),
    }),
  });
  return migrations;
}

/** Runs them on the server, following their progress there until each has stopped running. */
async function viaServer(server: ServerHandle, options: MigrateOptions): Promise<MigrationOutcome[]> {
  const body = JSON.stringify({ name: options.name, dryRun: options.dryRun, restart: options.restart });
  const response = await server.fetch('/admin/migrations/run', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  if (options.dryRun) return (await serverJson<{ outcomes: MigrationOutcome[] }>(response)).outcomes;
  const { started } = await serverJson<{ started: string[] }>(response);
  const seen = new Map<string, number>();
  for (;;) {
    const { migrations } = await serverJson<{ migrations: MigrationState[] }>(await server.fetch('/admin/migrations'));
    const mine = migrations.filter((m) => started.includes(m.name));
    for (const state of mine) {
      if (state.status === 'pending' || seen.get(state.name) === state.processed) continue;
      seen.set(state.name, state.processed);
      options.onProgress?.({
        name: state.name,
        phase: state.status === 'done' ? 'done' : 'running',
        processed: state.processed,
        changed: state.changed,
        total: 0,
      });
    }
    const failed = mine.find((m) => m.status === 'failed');
    if (failed) throw new UserError(`migration ${failed.name} failed: ${failed.error}`);
    // Started in order: the run is over once the last one is done, or one stopped (paused).
    if (mine.length === started.length && mine.every((m) => m.status === 'done'))
      return mine.map((m) => ({ name: m.name, status: 'done', processed: m.processed, changed: m.changed }));
    const paused = mine.find((m) => m.status === 'paused');
    if (paused)
      throw new UserError(
        `migration ${paused.name} was stopped (the server is shutting down?); run valet migrate again to resume`,
      );
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

async function inProcess(engine: Engine, options: MigrateOptions): Promise<MigrationOutcome[]> {
  options.onStoppable?.(() => engine.migrations.stop());
  const names = options.name
    ? [options.name]
    : (await listMigrations(engine.connections.autoCommit.sql, definedOf(engine)))
        .filter((state) => state.defined && (options.restart || state.status !== 'done'))
        .map((state) => state.name);
  const outcomes: MigrationOutcome[] = [];
  for (const name of names) {
    const outcome = await engine.migrations.run(name, {
      dryRun: options.dryRun,
      restart: options.restart,
      wait: true,
      onProgress: options.onProgress,
    });
    outcomes.push(outcome);
    if (outcome.status === 'paused') break;
  }
  return outcomes;
}

export async function runMigrations(options: MigrateOptions): Promise<{ outcomes: MigrationOutcome[]; via: string }> {
  try {
    return await throughServerOrInProcess(options.appDir, {
      viaServer: async (server) => ({ outcomes: await viaServer(server, options) }),
      inProcess: async (engine) => ({ outcomes: await inProcess(engine, options) }),
    });
  } catch (error) {
    // The engine's refusals (no such migration, another runner, migrateOne threw) read as a user's problem.
    if (error instanceof EngineError) throw new UserError(error.message);
    throw error;
  }
}
