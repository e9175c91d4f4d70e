// Every call of every kind: filter by kind, function, outcome, caller and time; one call in full
// with its caller, parent, log lines, error (with the source line that failed) and the tree of
// its trace — the calls it caused and what each fetched, enqueued and scheduled.
import { get } from '../api.js';
import { badge, errorBox, h, replace, tableRows, time } from '../dom.js';
import type { Page } from './page.js';
import { serialized } from './page.js';

interface CallEvent {
  type: string;
  at: number;
  durationMs?: number;
  detail: string;
  id?: string;
  status?: number;
}

interface Call {
  id: string;
  parent: string | null;
  root: string;
  path: string;
  kind: string;
  source: string;
  caller: string;
  instance: string | null;
  startedAt: number;
  durationMs: number | null;
  outcome: string;
  error: { code: string; message: string; stack?: string; at?: { file: string; line?: number } } | null;
  invocation: string | null;
  logs?: { time: number; level: string; message: string }[];
  events?: CallEvent[];
}

const KINDS = ['', 'query', 'mutation', 'action', 'http', 'cron'];
const OUTCOMES = ['', 'ok', 'error', 'running'];
const SINCE: Record<string, number> = { '': 0, '15 min': 15 * 60_000, '1 h': 3_600_000, '24 h': 86_400_000 };

export function duration(ms: number | null): string {
  if (ms === null) return 'running';
  return ms < 10 ? `${ms.toFixed(2)} ms` : ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

function outcomeBadge(call: Call): HTMLElement {
  return badge(
    call.outcome === 'error' ? (call.error?.code ?? 'error') : call.outcome,
    call.outcome === 'ok' ? 'succeeded' : call.outcome === 'error' ? 'failed' : 'running',
  );
}

function select(label: string, options: string[], empty: string, value: string | null): HTMLSelectElement {
  const element = h(
    'select',
    { 'aria-label': label },
    options.map((o) => h('option', { value: o }, o || empty)),
  );
  element.value = value ?? '';
  return element;
}

function list(query: URLSearchParams): Page {
  const kind = select('kind', KINDS, 'any kind', query.get('kind'));
  const fn = h('input', {
    'aria-label': 'function',
    placeholder: 'function (module:name)',
    value: query.get('function') ?? '',
  });
  const outcome = select('outcome', OUTCOMES, 'any outcome', query.get('outcome'));
  const caller = h('input', {
    'aria-label': 'caller',
    placeholder: 'caller (user, user:id, anonymous, system)',
    value: query.get('caller') ?? '',
  });
  const since = h(
    'select',
    { 'aria-label': 'since' },
    Object.keys(SINCE).map((s) => h('option', { value: s }, s ? `last ${s}` : 'any time')),
  );
  const trace = query.get('trace');
  const rows = h('tbody');
  const problem = h('div');
  const refresh = serialized(async () => {
    const params = new URLSearchParams({ limit: '200' });
    if (kind.value) params.set('kind', kind.value);
    if (fn.value.trim()) params.set('function', fn.value.trim());
    if (outcome.value) params.set('outcome', outcome.value);
    if (caller.value.trim()) params.set('caller', caller.value.trim());
    if (SINCE[since.value]) params.set('since', String(Date.now() - SINCE[since.value]!));
    if (trace) params.set('trace', trace);
    try {
      const { calls } = await get<{ calls: Call[] }>(`admin/calls?${params}`);
      replace(problem);
      replace(
        rows,
        tableRows(calls, 7, 'No calls match: every query, mutation, action, route and cron run appears here.', (call) =>
          h(
            'tr',
            { 'data-testid': 'call', class: call.outcome === 'error' ? 'failed' : undefined },
            h('td', {}, h('a', { href: `#/calls/${call.id}` }, time(new Date(call.startedAt).toISOString()))),
            h('td', {}, call.kind),
            h('td', {}, call.path),
            h('td', {}, outcomeBadge(call)),
            h('td', {}, call.caller),
            h('td', {}, call.source),
            h('td', { class: 'num' }, duration(call.durationMs)),
          ),
        ),
      );
    } catch (error) {
      replace(problem, errorBox((error as Error).message));
    }
  });
  for (const input of [kind, fn, outcome, caller, since]) input.addEventListener('change', () => void refresh());
  return {
    element: h(
      'div',
      {},
      h('h1', {}, 'Calls', trace ? ` of trace ${trace}` : ''),
      h('div', { class: 'row filters' }, kind, fn, outcome, caller, since),
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
            ['Started', 'Kind', 'Function', 'Outcome', 'Caller', 'Via', 'Duration'].map((t) => h('th', {}, t)),
          ),
        ),
        rows,
      ),
    ),
    refresh: (topics) => (topics.includes('calls') || topics.includes('db') ? refresh() : Promise.resolve()),
  };
}

/** The lines around where a call threw (the server found the place in its mapped stack). */
async function sourceExcerpt(at: { file: string; line?: number } | undefined): Promise<HTMLElement | null> {
  if (!at?.line) return null;
  const frame = { file: at.file, line: at.line };
  try {
    const { text } = await get<{ text: string }>(`admin/source?file=${encodeURIComponent(frame.file)}`);
    const lines = text.split('\n');
    const first = Math.max(1, frame.line - 3);
    const last = Math.min(lines.length, frame.line + 3);
    return h(
      'figure',
      { class: 'source', 'aria-label': 'failing line' },
      h('figcaption', {}, `${frame.file}:${frame.line}`),
      h(
        'pre',
        { class: 'code' },
        lines.slice(first - 1, last).map((text, i) => {
          const number = first + i;
          return h(
            'div',
            { class: number === frame.line ? 'hit' : undefined },
            `${String(number).padStart(4)}  ${text}`,
          );
        }),
      ),
    );
  } catch {
    // The server has no dashboard source access (or the file moved): the stack says enough.
    return null;
  }
}

function traceTree(trace: Call[], current: string): HTMLElement {
  const ids = new Set(trace.map((c) => c.id));
  const children = new Map<string | null, Call[]>();
  for (const call of trace) {
    const parent = call.parent && ids.has(call.parent) ? call.parent : null;
    children.set(parent, [...(children.get(parent) ?? []), call]);
  }
  const node = (call: Call): HTMLElement =>
    h(
      'li',
      { 'data-testid': 'trace-call', class: call.id === current ? 'current' : undefined },
      outcomeBadge(call),
      ' ',
      h('span', { class: 'muted' }, call.kind),
      ' ',
      call.id === current ? h('strong', {}, call.path) : h('a', { href: `#/calls/${call.id}` }, call.path),
      ' ',
      h('span', { class: 'muted' }, duration(call.durationMs)),
      (call.events?.length || children.get(call.id)?.length) &&
        h(
          'ul',
          {},
          (call.events ?? []).map((event) =>
            h(
              'li',
              { class: 'event', 'data-testid': 'trace-event' },
              `${event.type} ${event.detail}`,
              event.type === 'fetch' ? ` → ${event.status || 'failed'}` : '',
              event.durationMs === undefined ? '' : ` (${duration(event.durationMs)})`,
            ),
          ),
          (children.get(call.id) ?? []).map(node),
        ),
    );
  return h('ul', { class: 'trace', 'aria-label': 'trace' }, (children.get(null) ?? []).map(node));
}

function detail(id: string): Page {
  const body = h('div');
  const refresh = serialized(async () => {
    let call: Call;
    let trace: Call[];
    try {
      ({ call, trace } = await get<{ call: Call; trace: Call[] }>(`admin/calls/${encodeURIComponent(id)}`));
    } catch (error) {
      replace(body, errorBox((error as Error).message));
      return;
    }
    const excerpt = call.error ? await sourceExcerpt(call.error.at) : null;
    replace(
      body,
      h('h1', {}, call.path, ' ', outcomeBadge(call)),
      h(
        'dl',
        {},
        h('dt', {}, 'Call'),
        h('dd', { class: 'code' }, call.id),
        h('dt', {}, 'Kind'),
        h('dd', {}, call.kind),
        h('dt', {}, 'Caller'),
        h('dd', {}, call.caller),
        h('dt', {}, 'Via'),
        h('dd', {}, call.source),
        h('dt', {}, 'Started'),
        h('dd', {}, time(new Date(call.startedAt).toISOString())),
        h('dt', {}, 'Duration'),
        h('dd', {}, duration(call.durationMs)),
        h('dt', {}, 'Parent'),
        h('dd', {}, call.parent ? h('a', { href: `#/calls/${call.parent}` }, call.parent) : '—'),
        h('dt', {}, 'Trace'),
        h('dd', {}, h('a', { href: `#/calls?trace=${call.root}` }, call.root)),
        call.instance && [h('dt', {}, 'Instance'), h('dd', { class: 'code' }, call.instance)],
        call.invocation && [
          h('dt', {}, 'Invocation'),
          h(
            'dd',
            {},
            h('a', { href: `#/invocations/${call.invocation}` }, `${call.invocation} (args, result, re-run)`),
          ),
        ],
      ),
      call.error && [
        h('h2', {}, 'Error'),
        h('pre', { class: 'code error', 'data-testid': 'call-error' }, `${call.error.code}: ${call.error.message}`),
        excerpt,
        call.error.stack && h('pre', { class: 'code', 'aria-label': 'stack' }, call.error.stack),
      ],
      h('h2', {}, 'Log lines'),
      h(
        'pre',
        { class: 'logs', 'aria-label': 'log lines' },
        call.logs?.length
          ? call.logs.map((l) => `${new Date(l.time).toISOString()} [${l.level}] ${l.message}`).join('\n')
          : '(no log lines)',
      ),
      h('h2', {}, 'Trace'),
      traceTree(trace, call.id),
    );
  });
  return {
    element: h('div', {}, h('p', {}, h('a', { href: '#/calls' }, '← all calls')), body),
    refresh: (topics) => (topics.includes('calls') || topics.includes('db') ? refresh() : Promise.resolve()),
  };
}

export function calls(params: string[], query: URLSearchParams): Page {
  return params[0] ? detail(params[0]) : list(query);
}
