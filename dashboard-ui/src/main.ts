// The dashboard: a header with the server's state, a page per part of the app, and one event
// stream that says when to re-read. Pages re-read only their live parts, so what you are typing
// survives an update; after a lost connection (a server restart) everything is re-read.
import { ApiError, get } from './api.js';
import { badge, h, replace } from './dom.js';
import { crons } from './pages/crons.js';
import { data } from './pages/data.js';
import { email } from './pages/email.js';
import { files } from './pages/files.js';
import { functions } from './pages/functions.js';
import { calls } from './pages/calls.js';
import { invocations } from './pages/invocations.js';
import { metrics } from './pages/metrics.js';
import { migrations } from './pages/migrations.js';
import { logs } from './pages/logs.js';
import { scheduled } from './pages/scheduled.js';
import { sessions } from './pages/sessions.js';
import type { Page, Topic } from './pages/page.js';

const PAGES: Record<
  string,
  { title: string; make: (params: string[], query: URLSearchParams) => Page; hidden?: boolean }
> = {
  functions: { title: 'Functions', make: functions },
  calls: { title: 'Calls', make: calls },
  metrics: { title: 'Metrics', make: metrics },
  // An action's invocation record (args, result, re-run): reached from its call's page.
  invocations: { title: 'Invocations', make: invocations, hidden: true },
  logs: { title: 'Logs', make: logs },
  data: { title: 'Data', make: data },
  files: { title: 'Files', make: files },
  email: { title: 'Email', make: email },
  crons: { title: 'Crons', make: crons },
  scheduled: { title: 'Scheduled', make: scheduled },
  migrations: { title: 'Migrations', make: migrations },
  sessions: { title: 'Sessions', make: sessions },
};

const root = document.getElementById('root')!;
const header = h('header', { class: 'top' });
const nav = h('nav', { 'aria-label': 'pages' });
const main = h('main');
const connection = h('span', { class: 'connection', 'data-testid': 'connection' }, 'Connecting…');
let current: Page | null = null;

interface State {
  app: string;
  mode: string;
  status: string;
  functions: number;
  database: string;
  error: {
    stage: string;
    problems: { file?: string; line?: number; column?: number; message: string; frame?: string }[];
    keptServing: boolean;
    at: string;
  } | null;
  typeErrors: { file?: string; line?: number; message: string }[];
  searchIndexes: string | null;
  docs: string;
}

async function renderHeader(): Promise<void> {
  let state: State;
  try {
    state = await get<State>('state');
  } catch (error) {
    if ((error as ApiError).status === 401) return signedOut();
    return;
  }
  document.title = `${state.app} — Valet dashboard`;
  const failure = state.error;
  replace(
    header,
    h(
      'div',
      { class: 'row' },
      h('strong', { class: 'app' }, state.app),
      badge(
        state.status === 'serving' ? 'Serving' : state.status === 'failed' ? 'Build failed' : 'Building',
        state.status,
      ),
      h(
        'span',
        { class: 'muted' },
        `${state.functions} functions · ${state.mode === 'dev' ? 'valet dev' : 'valet start'} · ${state.database}`,
      ),
      state.searchIndexes && h('span', { class: 'muted', 'data-testid': 'search-indexes' }, `· ${state.searchIndexes}`),
      state.typeErrors.length > 0 &&
        h(
          'span',
          { class: 'warn' },
          `${state.typeErrors.length} type error${state.typeErrors.length === 1 ? '' : 's'}`,
        ),
      h('span', { class: 'spacer' }),
      connection,
      h('a', { href: state.docs, target: '_blank', rel: 'noreferrer noopener' }, 'Docs'),
    ),
    failure &&
      h(
        'section',
        { class: 'build-error', role: 'alert', 'aria-label': 'build error' },
        h(
          'strong',
          {},
          `The last ${failure.stage} failed${failure.keptServing ? ' — the last good build keeps serving' : ''}`,
        ),
        failure.problems.map((problem) =>
          h(
            'div',
            {},
            h(
              'p',
              {},
              problem.file ? `${problem.file}:${problem.line ?? 0}:${problem.column ?? 0} ` : '',
              problem.message,
            ),
            problem.frame && h('pre', { class: 'frame' }, problem.frame),
          ),
        ),
      ),
  );
}

function signedOut(): void {
  replace(
    root,
    h(
      'section',
      { class: 'signed-out' },
      h('h1', {}, 'Signed out of the dashboard'),
      h(
        'p',
        {},
        'Open the dashboard link printed by ',
        h('code', {}, 'valet dev'),
        ' (each link works once), or run ',
        h('code', {}, 'npx valet dashboard'),
        ' in the app for a new one.',
      ),
    ),
  );
}

function route(): void {
  const [name = 'functions', ...params] = location.hash
    .replace(/^#\/?/, '')
    .split('?')[0]!
    .split('/')
    .map(decodeURIComponent);
  const query = new URLSearchParams(location.hash.split('?')[1] ?? '');
  const entry = PAGES[name] ?? PAGES.functions!;
  current?.dispose?.();
  current = entry.make(params, query);
  for (const link of nav.querySelectorAll('a'))
    link.toggleAttribute(
      'aria-current',
      link.dataset.page === (name === 'invocations' ? 'calls' : PAGES[name] ? name : 'functions'),
    );
  replace(main, current.element);
  void current.refresh(['db', 'logs', 'state', 'calls']);
}

function listen(): void {
  const events = new EventSource('/_dashboard/api/events');
  events.addEventListener('hello', () => {
    connection.textContent = 'Live';
    connection.className = 'connection live';
    // Anything may have changed while the stream was down.
    void renderHeader();
    void current?.refresh(['db', 'logs', 'state', 'calls']);
  });
  events.onmessage = (message) => {
    const { topics } = JSON.parse(message.data) as { topics: Topic[] };
    if (topics.includes('state')) void renderHeader();
    void current?.refresh(topics);
  };
  events.onerror = () => {
    connection.textContent = 'Reconnecting…';
    connection.className = 'connection offline';
  };
}

async function start(): Promise<void> {
  const session = await get<{ signedIn: boolean }>('session').catch(() => ({ signedIn: false }));
  if (!session.signedIn) return signedOut();
  replace(
    nav,
    Object.entries(PAGES)
      .filter(([, page]) => !page.hidden)
      .map(([name, page]) => h('a', { href: `#/${name}`, 'data-page': name }, page.title)),
  );
  replace(root, header, h('div', { class: 'body' }, nav, main));
  await renderHeader();
  window.addEventListener('hashchange', route);
  route();
  listen();
}

void start();
