// `valet cron ls` and `valet cron trigger` as programmatic APIs. The schedule comes from the
// app's own valet/crons.ts (built in-process); a trigger goes through the running server when
// there is one, so the run shows up in its logs, else runs in-process on the database.
import { systemClock } from '../runtime/clock.js';
import { existsSync } from 'node:fs';
import { buildAndLoad } from '../bundler/evaluate.js';
import { BundleMaps } from '../bundler/stack-map.js';
import { UserError } from '../errors/user-error.js';
import { AppEnv } from '../project/env-files.js';
import { describeJobs, lastRunsAndTicks } from '../runtime/cron/describe.js';
import type { CronJobInfo, LastRuns } from '../runtime/cron/describe.js';
import { buildRegistry } from '../runtime/registry.js';
import { databaseTargetOf } from '../serve/database-target.js';
import { withAppDatabase } from './open-app-database.js';
import { throughServerOrInProcess } from './server-or-local.js';

export type { CronJobInfo };

async function readLastRuns(appDir: string): Promise<LastRuns> {
  const target = databaseTargetOf(appDir);
  if (target.backend === 'sqlite' && !existsSync(target.database))
    return { runs: new Map(), ticks: new Map<string, number>() };
  return withAppDatabase(appDir, ({ sql }) => lastRunsAndTicks(sql));
}

export async function listCronJobs(appDir: string, now = systemClock.now()): Promise<CronJobInfo[]> {
  new AppEnv(appDir, 'development').apply();
  const maps = new BundleMaps(appDir);
  const registry = buildRegistry(await buildAndLoad(appDir, maps), (stack) => maps.rewriteStack(stack));
  return describeJobs(registry.crons, await readLastRuns(appDir), now);
}

export async function triggerCronJob(
  appDir: string,
  name: string,
): Promise<{ runId: string; via: 'server' | 'in-process' }> {
  return throughServerOrInProcess(appDir, {
    async viaServer(server) {
      const response = await server.fetch('/admin/cron/trigger', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ job: name }),
      });
      const body = (await response.json()) as { runId?: string; message?: string };
      if (!response.ok) throw new UserError(body.message ?? `the server answered ${response.status}`);
      return { runId: body.runId! };
    },
    async inProcess(engine) {
      if (!engine.crons.jobs().some((entry) => entry.job.name === name)) {
        throw new UserError(
          `no cron job "${name}" (jobs: ${
            engine.crons
              .jobs()
              .map((entry) => entry.job.name)
              .join(', ') || 'none'
          })`,
        );
      }
      return engine.crons.trigger(name);
    },
  });
}
