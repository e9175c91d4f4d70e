// The functions' console output, tailing live: filter by function, level and text; copy what is
// shown; each call's lines end with how it ended, which links to the call.
import { get } from '../api.js';
import { errorBox, h, replace } from '../dom.js';
import type { Page } from './page.js';
import { serialized } from './page.js';

interface LogEntry {
  time: string;
  level: string;
  function: string;
  invocation: string;
  /** The call's id in the activity log (its page). */
  call?: string;
  message: string;
  /** Set on the entry saying how a call ended, after its lines. */
  outcome?: 'ok' | 'error';
}

export function logs(_params: string[], query: URLSearchParams): Page {
  const fn = h('input', {
    'aria-label': 'function',
    placeholder: 'function (module:name)',
    value: query.get('function') ?? '',
  });
  const level = h(
    'select',
    { 'aria-label': 'level' },
    ['', 'log', 'info', 'warn', 'error', 'debug'].map((l) => h('option', { value: l }, l || 'any level')),
  );
  const text = h('input', { 'aria-label': 'text', placeholder: 'contains…', value: query.get('q') ?? '' });
  const invocation = query.get('invocation');
  const lines = h('ol', { class: 'log-lines', 'aria-label': 'log lines' });
  const problem = h('div');
  const copied = h('span', { class: 'muted' });
  let shown: LogEntry[] = [];
  const refresh = serialized(async () => {
    const params = new URLSearchParams({ limit: '500' });
    if (fn.value.trim()) params.set('function', fn.value.trim());
    if (level.value) params.set('level', level.value);
    if (text.value.trim()) params.set('q', text.value.trim());
    if (invocation) params.set('invocation', invocation);
    try {
      shown = (await get<{ logs: LogEntry[] }>(`admin/logs?${params}`)).logs;
      replace(problem);
    } catch (error) {
      replace(problem, errorBox((error as Error).message));
      return;
    }
    const follow = lines.scrollTop + lines.clientHeight >= lines.scrollHeight - 8;
    replace(
      lines,
      shown.length === 0
        ? h('li', { class: 'muted' }, 'No log lines yet: console.log in a function shows up here.')
        : shown.map((entry) =>
            h(
              'li',
              {
                class: `level-${entry.level}${entry.outcome ? ` outcome outcome-${entry.outcome}` : ''}`,
                'data-testid': entry.outcome ? 'log-outcome' : 'log-line',
              },
              h('span', { class: 'muted' }, new Date(entry.time).toLocaleTimeString()),
              ` [${entry.level}] `,
              h('a', { href: `#/logs?function=${encodeURIComponent(entry.function)}` }, entry.function),
              ' ',
              entry.outcome === 'ok' ? '✓ ' : entry.outcome === 'error' ? '✗ ' : '',
              entry.message,
              (entry.outcome || entry.level === 'error') && [
                ' ',
                entry.call
                  ? h('a', { href: `#/calls/${entry.call}`, class: 'jump' }, '→ call')
                  : h('a', { href: `#/invocations/${entry.invocation}`, class: 'jump' }, '→ invocation'),
              ],
            ),
          ),
    );
    if (follow) lines.scrollTop = lines.scrollHeight;
  });
  async function copy() {
    const textToCopy = shown
      .map((entry) => `${entry.time} [${entry.level}] ${entry.function} ${entry.message}`)
      .join('\n');
    try {
      await navigator.clipboard.writeText(textToCopy);
      copied.textContent = `Copied ${shown.length} lines`;
    } catch {
      copied.textContent = 'The browser did not allow copying';
    }
  }
  for (const input of [fn, level, text]) input.addEventListener('change', () => void refresh());
  text.addEventListener('input', () => void refresh());
  return {
    element: h(
      'div',
      {},
      h('h1', {}, 'Logs', invocation ? ` of invocation ${invocation}` : ''),
      h(
        'div',
        { class: 'row filters' },
        fn,
        level,
        text,
        h('button', { type: 'button', onclick: () => void copy() }, 'Copy'),
        copied,
      ),
      problem,
      lines,
    ),
    refresh: (topics) => (topics.includes('logs') ? refresh() : Promise.resolve()),
  };
}
