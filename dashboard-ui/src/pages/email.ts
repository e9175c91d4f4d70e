// The outbox as a mail viewer: the list with status, recipient, subject and attempts; a message
// with its headers, HTML (in a sandboxed frame: no scripts, no access to this page), text or push
// payload, and each delivery attempt; retry for a failed or dead-lettered one.
import { get, post } from '../api.js';
import { badge, errorBox, h, json, replace, tableRows, time } from '../dom.js';
import type { Page } from './page.js';
import { serialized } from './page.js';

interface Message {
  id: string;
  channel: 'email' | 'push';
  to: string[];
  subscriptionId: string | null;
  subject: string;
  status: string;
  deliveryKey: string | null;
  attempts: number;
  lastError: string | null;
  createdAt: string;
  sentAt: string | null;
  source: string | null;
}

interface Detail extends Message {
  html: string | null;
  text: string | null;
  push: { notification: unknown; ttl: number; urgency: string; topic: string | null } | null;
  history: { attempt: number; at: string; outcome: string; detail: string | null }[];
  subscription: { endpoint: string; userId: string | null } | null;
}

function list(query: URLSearchParams): Page {
  const channel = h(
    'select',
    { 'aria-label': 'channel' },
    h('option', { value: '' }, 'email and push'),
    h('option', { value: 'email' }, 'email'),
    h('option', { value: 'push' }, 'push'),
  );
  channel.value = query.get('channel') ?? '';
  const status = h(
    'select',
    { 'aria-label': 'status' },
    ['', 'queued', 'sending', 'sent', 'failed', 'dead', 'unable_to_deliver', 'maybe_delivered'].map((s) =>
      h('option', { value: s }, s || 'any status'),
    ),
  );
  const rows = h('tbody');
  const problem = h('div');
  const refresh = serialized(async () => {
    const params = new URLSearchParams({ limit: '200' });
    if (channel.value) params.set('channel', channel.value);
    if (status.value) params.set('status', status.value);
    try {
      const { messages } = await get<{ messages: Message[] }>(`admin/outbox?${params}`);
      replace(problem);
      replace(
        rows,
        tableRows(
          messages,
          5,
          'Nothing in the outbox yet: ctx.email.enqueue and ctx.push.enqueue put messages here.',
          (m) =>
            h(
              'tr',
              { 'data-testid': 'message' },
              h('td', {}, time(m.createdAt)),
              h('td', {}, badge(m.status)),
              h('td', {}, m.channel === 'push' ? `push → ${m.subscriptionId}` : m.to.join(', ')),
              h('td', {}, h('a', { href: `#/email/${m.id}` }, m.subject)),
              h('td', {}, String(m.attempts)),
            ),
        ),
      );
    } catch (error) {
      replace(problem, errorBox((error as Error).message));
    }
  });
  for (const input of [channel, status]) input.addEventListener('change', () => void refresh());
  return {
    element: h(
      'div',
      {},
      h('h1', {}, 'Email'),
      h('div', { class: 'row filters' }, channel, status),
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
            ['Created', 'Status', 'To', 'Subject', 'Attempts'].map((t) => h('th', {}, t)),
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
  const result = h('div');
  let htmlShown: string | null = null;
  const frame = h('iframe', { sandbox: '', title: 'HTML body', class: 'mail-frame', referrerpolicy: 'no-referrer' });
  async function retry() {
    try {
      await post(`admin/outbox/${id}/retry`);
      replace(result, h('p', { class: 'ok' }, 'Queued again.'));
      void refresh();
    } catch (error) {
      replace(result, errorBox((error as Error).message));
    }
  }
  const refresh = serialized(async () => {
    let m: Detail;
    try {
      m = await get<Detail>(`admin/outbox/${encodeURIComponent(id)}`);
    } catch (error) {
      replace(body, errorBox((error as Error).message));
      return;
    }
    if (m.html !== null && m.html !== htmlShown) {
      htmlShown = m.html;
      frame.srcdoc = m.html;
    }
    const header = (name: string, value: unknown) => [
      h('dt', {}, name),
      h('dd', {}, value === null || value === undefined ? '—' : String(value)),
    ];
    replace(
      body,
      h('h1', {}, m.subject, ' ', badge(m.status)),
      h(
        'dl',
        {},
        m.channel === 'push'
          ? header(
              'Subscription',
              m.subscription
                ? `${m.subscription.endpoint}${m.subscription.userId ? ` (user ${m.subscription.userId})` : ''}`
                : 'removed',
            )
          : header('To', m.to.join(', ')),
        header('Delivery key', m.deliveryKey),
        header('Created', time(m.createdAt)),
        header('Sent', m.sentAt && time(m.sentAt)),
        header('Attempts', m.attempts),
        header('Last error', m.lastError),
        header('Source', m.source),
      ),
      (m.status === 'dead' || m.status === 'failed') &&
        h('p', {}, h('button', { type: 'button', onclick: () => void retry() }, 'Retry'), result),
      m.html !== null && [h('h2', {}, 'HTML'), frame],
      m.text !== null && [h('h2', {}, 'Text'), h('pre', { class: 'mail-text' }, m.text)],
      m.push && [
        h('h2', {}, `Push payload (ttl ${m.push.ttl} s, urgency ${m.push.urgency})`),
        h('pre', { class: 'code' }, json(m.push.notification)),
      ],
      h('h2', {}, 'Delivery attempts'),
      m.history.length === 0
        ? h('p', { class: 'muted' }, 'None yet.')
        : h(
            'ol',
            { class: 'attempts' },
            m.history.map((a) => h('li', {}, `${time(a.at)} — ${a.outcome}${a.detail ? `: ${a.detail}` : ''}`)),
          ),
    );
  });
  return {
    element: h('div', {}, h('p', {}, h('a', { href: '#/email' }, '← outbox')), body),
    refresh: (topics) => (topics.includes('db') ? refresh() : Promise.resolve()),
  };
}

export function email(params: string[], query: URLSearchParams): Page {
  return params[0] ? detail(params[0]) : list(query);
}
