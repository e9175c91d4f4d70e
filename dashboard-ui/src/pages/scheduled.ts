// Work scheduled with ctx.scheduler: pending, running, done, failed and canceled, with cancel for
// what has not started.
import { get, post } from '../api.js';
import { badge, errorBox, h, json, replace, tableRows, time } from '../dom.js';
import type { Page } from './page.js';
import { serialized } from './page.js';

interface Scheduled {
  id: string;
  function: string;
  args: unknown;
  runAt: string;
  status: string;
  attempts: number;
  createdAt: string;
  scheduledBy: string | null;
  finishedAt: string | null;
  error: { message?: string } | null;
}

export function scheduled(): Page {
  const status = h(
    'select',
    { 'aria-label': 'status' },
    ['', 'pending', 'running', 'done', 'failed', 'canceled'].map((s) => h('option', { value: s }, s || 'any status')),
  );
  const rows = h('tbody');
  const message = h('div');
  async function cancel(id: string) {
    try {
      await post(`admin/scheduled/${id}/cancel`);
      replace(message, h('p', { class: 'ok' }, `Canceled ${id}.`));
      void refresh();
    } catch (error) {
      replace(message, errorBox((error as Error).message));
    }
  }
  const refresh = serialized(async () => {
    try {
      const params = new URLSearchParams({ limit: '200' });
      if (status.value) params.set('status', status.value);
      const { scheduled: all } = await get<{ scheduled: Scheduled[] }>(`admin/scheduled?${params}`);
      replace(
        rows,
        tableRows(all, 6, 'Nothing scheduled: ctx.scheduler.runAfter and runAt put work here.', (item) =>
          h(
            'tr',
            { 'data-testid': 'scheduled' },
            h('td', {}, time(item.runAt)),
            h('td', {}, item.function),
            h('td', { class: 'code' }, json(item.args)),
            h('td', {}, badge(item.status)),
            h('td', {}, item.error?.message ?? (item.scheduledBy ? `by ${item.scheduledBy}` : '')),
            h(
              'td',
              {},
              item.status === 'pending' &&
                h('button', { type: 'button', class: 'danger', onclick: () => void cancel(item.id) }, 'Cancel'),
            ),
          ),
        ),
      );
    } catch (error) {
      replace(message, errorBox((error as Error).message));
    }
  });
  status.addEventListener('change', () => void refresh());
  return {
    element: h(
      'div',
      {},
      h('h1', {}, 'Scheduled'),
      h('div', { class: 'row filters' }, status),
      message,
      h(
        'table',
        {},
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ['Runs at', 'Function', 'Args', 'Status', '', ''].map((t) => h('th', {}, t)),
          ),
        ),
        rows,
      ),
    ),
    refresh: (topics) => (topics.includes('db') ? refresh() : Promise.resolve()),
  };
}
