// `valet cron ls` and `valet cron trigger` as programmatic APIs. The schedule comes from the
// app's own valet/crons.ts (built in-process); a trigger goes through the running server when
// there is one, so the run shows up in its logs, else runs in-process on the database.
import { lastRuns } from '../runtime/cron/runs.js';
import { scheduleOf } from '../runtime/cron/schedule.js';
import { loadOrCreateAdminKey } from '../runtime/dev-keys.js';
import { createEngine } from '../runtime/engine.js';
import { buildRegistry } from '../runtime/registry.js';
import { openDatabase } from '../storage/open.js';
import { buildAndLoad } from './build.js';
import { databasePathOf, findRunningServer, stateDirOf } from './state.js';
import { existsSync } from 'node:fs';

export interface CronJobInfo {
  name: string;
  schedule: string;
  function: string;
  nextRun: string | null;
  lastStatus: string | null;
  lastRunAt: string | null;
}

export async function listCronJobs(appDir: string, now = Date.now()): Promise<CronJobInfo[]> {
  const registry = buildRegistry(await buildAndLoad(appDir));
  const database = databasePathOf(appDir);
  const last = existsSync(database) ? (() => {
    const db = openDatabase(database, { readonly: true });
    try {
      return lastRuns(db);
    } finally {
      db.close();
    }
  })() : new Map();
  return registry.crons.map((job) => {
    const schedule = scheduleOf(job);
    const next = schedule.nextAfter(now);
    const previous = last.get(job.name);
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
  const server = await findRunningServer(appDir);
  if (server) {
    const response = await fetch(`${server}/admin/cron/trigger`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-valet-admin-key': loadOrCreateAdminKey(stateDirOf(appDir)) },
      body: JSON.stringify({ job: name }),
    });
    const body = (await response.json()) as { runId?: string; message?: string };
    if (!response.ok) throw new Error(body.message ?? `the server answered ${response.status}`);
    return { runId: body.runId!, via: 'server' };
  }
  const engine = createEngine({ modules: await buildAndLoad(appDir), dbPath: databasePathOf(appDir), log: () => undefined });
  try {
    return { ...(await engine.crons.trigger(name)), via: 'in-process' };
  } finally {
    await engine.close();
  }
}
