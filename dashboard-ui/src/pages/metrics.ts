// Per-function metrics of this server over the last hour: calls, errors, p50/p95/p99 durations,
// live subscriptions and re-runs for queries, and a chart of calls per minute (errors in red).
import { get } from '../api.js';
import { errorBox, h, replace, tableRows } from '../dom.js';
import { duration } from './calls.js';
import type { Page } from './page.js';
import { serialized } from './page.js';

interface Minute {
  at: number;
  calls: number;
  errors: number;
  reruns: number;
  p95Ms: number | null;
}

interface FunctionSummary {
  path: string;
  kind: string;
  calls: number;
  errors: number;
  reruns: number;
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
  subscriptions?: number;
  minutes: Minute[];
}

const SVG = 'http://www.w3.org/2000/svg';
const WIDTH = 180;
const HEIGHT = 32;
const MINUTES = 60;

function svg(tag: string, attributes: Record<string, string | number>): SVGElement {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  return element;
}

/** Calls per minute over the last hour, one bar a minute, the failed part of each in red. */
function chart(fn: FunctionSummary, now: number): SVGElement {
  const root = svg('svg', { width: WIDTH, height: HEIGHT, viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: 'img' });
  const peak = Math.max(1, ...fn.minutes.map((m) => m.calls));
  const bar = WIDTH / MINUTES;
  const thisMinute = Math.floor(now / 60_000) * 60_000;
  const title = svg('title', {});
  title.textContent = `${fn.path}: calls per minute over the last hour (peak ${peak})`;
  root.appendChild(title);
  root.appendChild(svg('line', { x1: 0, y1: HEIGHT - 0.5, x2: WIDTH, y2: HEIGHT - 0.5, class: 'axis' }));
  for (const minute of fn.minutes) {
    const slot = MINUTES - 1 - Math.round((thisMinute - minute.at) / 60_000);
    if (slot < 0) continue;
    const height = Math.max(1, (minute.calls / peak) * (HEIGHT - 2));
    const errors = (minute.errors / peak) * (HEIGHT - 2);
    root.appendChild(svg('rect', { x: slot * bar, y: HEIGHT - height, width: bar - 0.5, height, class: 'calls' }));
    if (errors > 0)
      root.appendChild(
        svg('rect', { x: slot * bar, y: HEIGHT - errors, width: bar - 0.5, height: errors, class: 'errors' }),
      );
  }
  return root;
}

const ms = (value: number | null) => (value === null ? '—' : duration(value));

export function metrics(): Page {
  const rows = h('tbody');
  const problem = h('div');
  let last = 0;
  const refresh = serialized(async () => {
    try {
      const { functions } = await get<{ functions: FunctionSummary[] }>('admin/metrics?format=json');
      replace(problem);
      const now = Date.now();
      replace(
        rows,
        tableRows(functions, 10, 'No calls in the last hour.', (fn) =>
          h(
            'tr',
            { 'data-testid': 'metric' },
            h('td', {}, h('a', { href: `#/calls?function=${encodeURIComponent(fn.path)}` }, fn.path)),
            h('td', {}, fn.kind),
            h('td', { class: 'num' }, String(fn.calls)),
            h('td', { class: fn.errors ? 'num error' : 'num' }, String(fn.errors)),
            h('td', { class: 'num' }, ms(fn.p50Ms)),
            h('td', { class: 'num' }, ms(fn.p95Ms)),
            h('td', { class: 'num' }, ms(fn.p99Ms)),
            h('td', { class: 'num' }, fn.subscriptions === undefined ? '' : String(fn.subscriptions)),
            h('td', { class: 'num' }, fn.kind === 'query' ? String(fn.reruns) : ''),
            h('td', { class: 'chart' }, chart(fn, now) as unknown as HTMLElement),
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
      h('h1', {}, 'Metrics'),
      h(
        'p',
        { class: 'muted' },
        'This server, the last hour. Prometheus reads the same at /admin/metrics (admin key).',
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
            ['Function', 'Kind', 'Calls', 'Errors', 'p50', 'p95', 'p99', 'Live subs', 'Re-runs', 'Calls / min'].map(
              (t) => h('th', {}, t),
            ),
          ),
        ),
        rows,
      ),
    ),
    // At most once a second: under load the calls topic moves on every poll.
    refresh: async (topics) => {
      if (!topics.includes('calls') && !topics.includes('state') && !topics.includes('db')) return;
      if (Date.now() - last < 1000) return;
      last = Date.now();
      await refresh();
    },
  };
}
