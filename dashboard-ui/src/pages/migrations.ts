// The data migrations of valet/ (defineMigration) with their state and progress; run one (in the
// server's background, resuming where it stopped) or dry-run it to see what it would change.
import { get, post } from '../api.js';
import { badge, errorBox, h, replace, tableRows, time } from '../dom.js';
import type { Page } from './page.js';
import { serialized } from './page.js';

interface Migration {
  name: string;
  table: string;
  status: string;
  processed: number;
  changed: number;
  startedAt: string | null;
  updatedAt: string | null;
  finishedAt: string | null;
  error: string | null;
  runner: string | null;
  defined: boolean;
}

interface DryRun {
  processed: number;
  changed: number;
  samples: { _id: string; patch: unknown }[];
}

const STATUS_BADGE: Record<string, string> = {
  done: 'succeeded',
  running: 'running',
  failed: 'failed',
  paused: 'pending',
  pending: 'pending',
};

export function migrations(): Page {
  const rows = h('tbody');
  const problem = h('div');
  const output = h('section', { 'aria-label': 'migration result' });
  async function act(name: string, dryRun: boolean) {
    replace(output, h('p', { class: 'muted' }, dryRun ? `Dry run of ${name}…` : `Starting ${name}…`));
    try {
      const result = await post<{ outcomes?: DryRun[]; started?: string[] }>('admin/migrations/run', { name, dryRun });
      const outcome = result.outcomes?.[0];
      replace(
        output,
        dryRun && outcome
          ? [
              h('h2', {}, `Dry run of ${name}`),
              h(
                'p',
                { 'data-testid': 'dry-run' },
                `Would change ${outcome.changed.toLocaleString()} of ${outcome.processed.toLocaleString()} documents (nothing was written).`,
              ),
              outcome.samples.length > 0 &&
                h(
                  'pre',
                  { class: 'code' },
                  outcome.samples.map((s) => `${s._id}: ${JSON.stringify(s.patch)}`).join('\n'),
                ),
            ]
          : h('p', { class: 'ok' }, `${name} is running on the server: its progress shows above.`),
      );
      await refresh();
    } catch (error) {
      replace(output, errorBox((error as Error).message));
    }
  }
  const refresh = serialized(async () => {
    try {
      const { migrations: list } = await get<{ migrations: Migration[] }>('admin/migrations');
      replace(problem);
      replace(
        rows,
        tableRows(list, 7, 'No migrations: define them with defineMigration in valet/migrations.ts.', (m) =>
          h(
            'tr',
            { 'data-testid': 'migration' },
            h('td', {}, m.name, m.defined ? '' : h('span', { class: 'muted' }, ' (no longer in valet/)')),
            h('td', {}, m.table),
            h(
              'td',
              {},
              badge(m.status, STATUS_BADGE[m.status] ?? m.status),
              m.error && h('div', { class: 'error' }, m.error),
            ),
            h('td', { class: 'num' }, m.processed.toLocaleString()),
            h('td', { class: 'num' }, m.changed.toLocaleString()),
            h('td', {}, time(m.finishedAt ?? m.updatedAt)),
            h(
              'td',
              { class: 'actions' },
              m.defined &&
                m.status !== 'running' && [
                  h('button', { type: 'button', class: 'secondary', onclick: () => void act(m.name, true) }, 'Dry run'),
                  m.status !== 'done' &&
                    h(
                      'button',
                      { type: 'button', onclick: () => void act(m.name, false) },
                      m.status === 'pending' ? 'Run' : 'Resume',
                    ),
                ],
            ),
          ),
        ),
      );
    } catch (error) {
      replace(problem, errorBox((error as Error).message));
    }
  });
  return {
    element: h(
      'div',
      {},
      h('h1', {}, 'Migrations'),
      h(
        'p',
        { class: 'muted' },
        'Each batch is one transaction; a stopped run resumes where it left off. The CLI: valet migrate.',
      ),
      problem,
      h(
        'table',
        {},
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ['Migration', 'Table', 'State', 'Processed', 'Changed', 'Last', ''].map((t) => h('th', {}, t)),
          ),
        ),
        rows,
      ),
      output,
    ),
    refresh: (topics) => (topics.includes('db') || topics.includes('state') ? refresh() : Promise.resolve()),
  };
}
