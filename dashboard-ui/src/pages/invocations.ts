// The action invocation log: filter by function, status and time; one invocation in full with
// its log lines; re-run it (same args, or edited) as a new invocation linked to this one.
import { get, post } from '../api.js';
import type { ApiError } from '../api.js';
import { badge, errorBox, h, json, replace, tableRows, time } from '../dom.js';
import type { Page } from './page.js';
import { serialized } from './page.js';

interface Invocation {
  id: string;
  function: string;
  invoker: { type: string; userId?: string; source?: string };
  idempotencyKey: string | null;
  args: unknown;
  status: string;
  httpStatus: number | null;
  result: unknown;
  error: { code?: string; message?: string } | null;
  attempts: number;
  sensitive: boolean;
  startedAt: string;
  finishedAt: string | null;
  durationMs: number | null;
  rerunOf: string | null;
  errorStack: string | null;
}

const STATUSES = ['', 'running', 'succeeded', 'failed', 'interrupted'];
const SINCE: Record<string, number> = { '': 0, '15 min': 15 * 60_000, '1 h': 3_600_000, '24 h': 86_400_000 };

function invoker(value: Invocation['invoker']): string {
  return value.type === 'user'
    ? `user ${value.userId}`
    : value.type === 'system'
      ? `system (${value.source ?? 'admin'})`
      : value.type;
}

function list(query: URLSearchParams): Page {
  const fn = h('input', {
    'aria-label': 'function',
    placeholder: 'function (module:name)',
    value: query.get('function') ?? '',
  });
  const status = h(
    'select',
    { 'aria-label': 'status' },
    STATUSES.map((s) => h('option', { value: s }, s || 'any status')),
  );
  const since = h(
    'select',
    { 'aria-label': 'since' },
    Object.keys(SINCE).map((s) => h('option', { value: s }, s ? `last ${s}` : 'any time')),
  );
  const rows = h('tbody');
  const problem = h('div');
  const refresh = serialized(async () => {
    const params = new URLSearchParams({ limit: '100' });
    if (fn.value.trim()) params.set('function', fn.value.trim());
    if (status.value) params.set('status', status.value);
    if (SINCE[since.value]) params.set('since', String(Date.now() - SINCE[since.value]!));
    try {
      const { invocations } = await get<{ invocations: Invocation[] }>(`admin/invocations?${params}`);
      replace(problem);
      replace(
        rows,
        tableRows(
          invocations,
          7,
          'No invocations yet: run an action (from the Functions page, a client or valet run).',
          (inv) =>
            h(
              'tr',
              { 'data-testid': 'invocation' },
              h('td', {}, h('a', { href: `#/invocations/${inv.id}` }, time(inv.startedAt))),
              h('td', {}, inv.function),
              h('td', {}, badge(inv.status)),
              h('td', {}, invoker(inv.invoker)),
              h('td', {}, inv.durationMs === null ? '—' : `${inv.durationMs} ms`),
              h('td', {}, String(inv.attempts)),
              h('td', {}, inv.rerunOf ? h('a', { href: `#/invocations/${inv.rerunOf}` }, 're-run') : ''),
            ),
        ),
      );
    } catch (error) {
      replace(problem, errorBox((error as Error).message));
    }
  });
  for (const input of [fn, status, since]) input.addEventListener('change', () => void refresh());
  return {
    element: h(
      'div',
      {},
      h('h1', {}, 'Invocations'),
      h('div', { class: 'row filters' }, fn, status, since),
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
            ['Started', 'Function', 'Status', 'Invoker', 'Duration', 'Attempts', ''].map((title) => h('th', {}, title)),
          ),
        ),
        rows,
      ),
    ),
    refresh: (topics) => (topics.includes('db') ? refresh() : Promise.resolve()),
  };
}

function detail(id: string): Page {
  const body = h('div');
  const logsView = h('pre', { class: 'logs', 'aria-label': 'log lines' });
  const args = h('textarea', { 'aria-label': 'args to re-run with', rows: 6, class: 'code', spellcheck: 'false' });
  const rerunResult = h('div');
  let loaded: Invocation | null = null;
  const rerunForm = h(
    'form',
    { class: 'card', 'aria-label': 're-run' },
    h('h2', {}, 'Re-run'),
    h('p', { class: 'muted' }, 'Runs the action again as the same invoker: a new invocation, linked to this one.'),
    args,
    h('button', { type: 'submit' }, 'Re-run'),
    rerunResult,
  );
  async function rerun(event: Event) {
    event.preventDefault();
    let parsed: unknown;
    try {
      parsed = JSON.parse(args.value);
    } catch (error) {
      replace(rerunResult, errorBox(`Invalid JSON args: ${(error as Error).message}`));
      return;
    }
    try {
      const outcome = await post<{ invocationId: string | null; body: { code?: string; message?: string } }>(
        `admin/invocations/${id}/rerun`,
        { args: parsed },
      );
      if (outcome.invocationId) location.hash = `#/invocations/${outcome.invocationId}`;
      else replace(rerunResult, errorBox(`${outcome.body.code}: ${outcome.body.message}`));
    } catch (error) {
      replace(rerunResult, errorBox((error as Error).message));
    }
  }
  rerunForm.addEventListener('submit', (event) => void rerun(event));
  const refresh = serialized(async () => {
    const lines = (
      await get<{ logs: { time: string; level: string; message: string }[] }>(
        `admin/logs?invocation=${encodeURIComponent(id)}`,
      )
    ).logs;
    logsView.textContent = lines.length
      ? lines.map((line) => `${line.time} [${line.level}] ${line.message}`).join('\n')
      : '(no log lines)';
    let inv: Invocation;
    try {
      inv = await get<Invocation>(`admin/invocations/${encodeURIComponent(id)}`);
    } catch (error) {
      // Queries and mutations log lines under an id too, but only actions are in the invocation log.
      const notAction = (error as ApiError).status === 404;
      replace(
        body,
        notAction
          ? h(
              'p',
              { class: 'muted' },
              `${id} is not an action invocation (this log holds actions, with their args and re-run; every call of every kind is on the Calls page); its log lines are below.`,
            )
          : errorBox((error as Error).message),
      );
      rerunForm.hidden = notAction;
      return;
    }
    rerunForm.hidden = false;
    if (!loaded) args.value = inv.sensitive ? '{}' : json(inv.args ?? {});
    loaded = inv;
    replace(
      body,
      h('h1', {}, inv.function, ' ', badge(inv.status)),
      inv.rerunOf && h('p', {}, 'Re-run of ', h('a', { href: `#/invocations/${inv.rerunOf}` }, inv.rerunOf)),
      h(
        'dl',
        {},
        h('dt', {}, 'Invocation'),
        h('dd', { class: 'code' }, inv.id),
        h('dt', {}, 'Invoker'),
        h('dd', {}, invoker(inv.invoker)),
        h('dt', {}, 'Idempotency key'),
        h('dd', {}, inv.idempotencyKey ?? '—'),
        h('dt', {}, 'Started'),
        h('dd', {}, time(inv.startedAt)),
        h('dt', {}, 'Duration'),
        h('dd', {}, inv.durationMs === null ? 'running' : `${inv.durationMs} ms`),
        h('dt', {}, 'Attempts'),
        h('dd', {}, String(inv.attempts)),
      ),
      h('h2', {}, 'Args'),
      inv.sensitive
        ? h('p', { class: 'muted' }, 'Not kept: the action is sensitive.')
        : h('pre', { class: 'code' }, json(inv.args)),
      inv.error
        ? [
            h('h2', {}, 'Error'),
            h(
              'pre',
              { class: 'code error', 'data-testid': 'invocation-error' },
              `${inv.error.code}: ${inv.error.message}`,
            ),
            inv.errorStack && h('pre', { class: 'code', 'aria-label': 'stack' }, inv.errorStack),
          ]
        : [h('h2', {}, 'Result'), h('pre', { class: 'code', 'data-testid': 'invocation-result' }, json(inv.result))],
    );
  });
  return {
    element: h(
      'div',
      {},
      h('p', {}, h('a', { href: '#/invocations' }, '← all invocations')),
      body,
      h('h2', {}, 'Log lines'),
      logsView,
      rerunForm,
    ),
    refresh: (topics) => (topics.includes('db') || topics.includes('logs') ? refresh() : Promise.resolve()),
  };
}

export function invocations(params: string[], query: URLSearchParams): Page {
  return params[0] ? detail(params[0]) : list(query);
}
