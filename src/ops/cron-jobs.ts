// `valet cron ls` and `valet cron trigger` as programmatic APIs. The schedule comes from the
// app's own valet/crons.ts (built in-process); a trigger goes through the running server when
// there is one, so the run shows up in its logs, else runs in-process on the database.
import { existsSync } from 'node:fs';
import { buildAndLoad } from '../bundler/evaluate.js';
import { BundleMaps } from '../bundler/stack-map.js';
import { UserError } from '../errors/user-error.js';
import { AppEnv } from '../project/env-files.js';
import { databasePathOf } from '../project/paths.js';
import { lastRuns } from '../runtime/cron/runs.js';
import { nextRunOf, scheduleOf } from '../runtime/cron/schedule.js';
import { buildRegistry } from '../runtime/registry.js';
import { openDatabase } from '../storage/open.js';
import { throughServerOrInProcess } from './server-or-local.js';

export interface CronJobInfo {
  name: string;
  schedule: string;
  function: string;
  nextRun: string | null;
  lastStatus: string | null;
  lastRunAt: string | null;
}

function readLastRuns(appDir: string) {
  const database = databasePathOf(appDir);
  if (!existsSync(database)) return { runs: new Map(), ticks: new Map<string, number>() };
  const db = openDatabase(database, { readonly: true });
  try {
    const ticks = new Map((db.prepare('SELECT job, last_tick FROM _valet_cron_state').all() as { job: string; last_tick: number }[]).map((r) => [r.job, r.last_tick]));
    return { runs: lastRuns(db), ticks };
  } finally {
    db.close();
  }
}

export async function listCronJobs(appDir: string, now = Date.now()): Promise<CronJobInfo[]> {
  new AppEnv(appDir, 'development').apply();
  const maps = new BundleMaps(appDir);
  const registry = buildRegistry(await buildAndLoad(appDir, maps), (stack) => maps.rewriteStack(stack));
  const { runs, ticks } = readLastRuns(appDir);
  return registry.crons.map((job) => {
    const schedule = scheduleOf(job);
    const next = nextRunOf(schedule, ticks.get(job.name), now);
    const previous = runs.get(job.name);
    return {
      name: job.name,
      schedule: schedule.describe(),
      function: job.ref.path,
      nextRun: next === null ? null : new Date(next).toISOString(),
      lastStatus: previous?.status ?? null,
      lastRunAt: previous ? new Date(previous.dispatchedAt).toISOString() : null,
    };
  });
}

export async function triggerCronJob(appDir: string, name: string): Promise<{ runId: string; via: 'server' | 'in-process' }> {
  return throughServerOrInProcess(appDir, {
    async viaServer(server) {
      const response = await server.fetch('/admin/cron/trigger', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ job: name }) });
      const body = (await response.json()) as { runId?: string; message?: string };
      if (!response.ok) throw new UserError(body.message ?? `the server answered ${response.status}`);
      return { runId: body.runId! };
    },
    async inProcess(engine) {
      if (!engine.crons.jobs().some((entry) => entry.job.name === name)) {
        throw new UserError(`no cron job "${name}" (jobs: ${engine.crons.jobs().map((entry) => entry.job.name).join(', ') || 'none'})`);
      }
      return engine.crons.trigger(name);
    },
  });
}
