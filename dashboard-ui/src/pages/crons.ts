// Cron jobs with their schedule, next run and last status, a button to run one now, and the run
// history with lag, catch-ups and skips.
import { get, post } from '../api.js';
import { badge, errorBox, h, replace, tableRows, time } from '../dom.js';
import type { Page } from './page.js';
import { serialized } from './page.js';

interface Job {
  name: string;
  schedule: string;
  function: string;
  nextRun: string | null;
  lastStatus: string | null;
  lastRunAt: string | null;
}

interface Run {
  id: string;
  job: string;
  status: string;
  trigger: string;
  scheduledAt: string;
  dispatchedAt: string;
  lagMs: number;
  catchUp: boolean;
  missedRuns: number;
  error: { message?: string } | null;
}

export function crons(): Page {
  const jobs = h('tbody');
  const runs = h('tbody');
  const message = h('div');
  async function trigger(name: string) {
    try {
      await post('admin/cron/trigger', { job: name });
      replace(message, h('p', { class: 'ok' }, `Triggered ${name}.`));
    } catch (error) {
      replace(message, errorBox((error as Error).message));
    }
  }
  const refresh = serialized(async () => {
    try {
      const [{ jobs: all }, { runs: history }] = await Promise.all([
        get<{ jobs: Job[] }>('admin/crons'),
        get<{ runs: Run[] }>('admin/cron/runs?limit=100'),
      ]);
      replace(
        jobs,
        tableRows(all, 6, 'No cron jobs: valet/crons.ts default-exports cronJobs().', (job) =>
          h(
            'tr',
            { 'data-testid': 'cron-job' },
            h('td', {}, job.name),
            h('td', { class: 'code' }, job.schedule),
            h('td', {}, job.function),
            h('td', {}, time(job.nextRun)),
            h('td', {}, job.lastStatus ? badge(job.lastStatus) : '—'),
            h('td', {}, h('button', { type: 'button', onclick: () => void trigger(job.name) }, 'Run now')),
          ),
        ),
      );
      replace(
        runs,
        tableRows(history, 6, 'No runs yet.', (run) =>
          h(
            'tr',
            { 'data-testid': 'cron-run' },
            h('td', {}, time(run.dispatchedAt)),
            h('td', {}, run.job),
            h('td', {}, badge(run.status)),
            h('td', {}, run.trigger === 'admin' ? 'by hand' : 'schedule'),
            h('td', {}, `${run.lagMs} ms`),
            h(
              'td',
              {},
              [
                run.catchUp ? 'catch-up' : '',
                run.missedRuns ? `${run.missedRuns} skipped` : '',
                run.error?.message ?? '',
              ]
                .filter(Boolean)
                .join(' · '),
            ),
          ),
        ),
      );
    } catch (error) {
      replace(message, errorBox((error as Error).message));
    }
  });
  return {
    element: h(
      'div',
      {},
      h('h1', {}, 'Crons'),
      message,
      h(
        'table',
        { 'aria-label': 'jobs' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ['Job', 'Schedule', 'Function', 'Next run', 'Last', ''].map((t) => h('th', {}, t)),
          ),
        ),
        jobs,
      ),
      h('h2', {}, 'Runs'),
      h(
        'table',
        { 'aria-label': 'runs' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ['Dispatched', 'Job', 'Status', 'Trigger', 'Lag', ''].map((t) => h('th', {}, t)),
          ),
        ),
        runs,
      ),
    ),
    refresh: (topics) => (topics.includes('db') || topics.includes('state') ? refresh() : Promise.resolve()),
  };
}
