// `valet cron ls` and `valet cron trigger` as programmatic APIs. The schedule comes from the
// app's own valet/crons.ts (built in-process); a trigger goes through the running server when
// there is one, so the run shows up in its logs, else runs in-process on the database.
import { existsSync } from 'node:fs';
import { buildAndLoad } from '../bundler/evaluate.js';
import { BundleMaps } from '../bundler/stack-map.js';
import { UserError } from '../errors/user-error.js';
import { AppEnv } from '../project/env-files.js';
import { lastRuns } from '../runtime/cron/runs.js';
import { nextRunOf, scheduleOf } from '../runtime/cron/schedule.js';
import { buildRegistry } from '../runtime/registry.js';
import { databaseTargetOf } from '../serve/database-target.js';
import { withAppDatabase } from './open-app-database.js';
import { throughServerOrInProcess } from './server-or-local.js';

export interface CronJobInfo {
  name: string;
  schedule: string;
  function: string;
  nextRun: string | null;
  lastStatus: string | null;
  lastRunAt: string | null;
}

async function readLastRuns(appDir: string) {
  const target = databaseTargetOf(appDir);
  if (target.backend === 'sqlite' && !existsSync(target.database)) return { runs: new Map(), ticks: new Map<string, number>() };
  return withAppDatabase(appDir, async ({ sql }) => {
    const ticks = new Map((await sql.all<{ job: string; last_tick: number }>('SELECT job, last_tick FROM _valet_cron_state')).map((r) => [r.job, r.last_tick]));
    return { runs: await lastRuns(sql), ticks };
  });
}

export async function listCronJobs(appDir: string, now = Date.now()): Promise<CronJobInfo[]> {
  new AppEnv(appDir, 'development').apply();
  const maps = new BundleMaps(appDir);
  const registry = buildRegistry(await buildAndLoad(appDir, maps), (stack) => maps.rewriteStack(stack));
  const { runs, ticks } = await readLastRuns(appDir);
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
