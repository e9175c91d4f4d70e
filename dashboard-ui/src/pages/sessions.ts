// valet/auth's sessions: who is signed in, with what, since when, from what; revoke one (its
// refresh token is refused at once, its access tokens within seconds) or all of a user's.
import { get, post } from '../api.js';
import { badge, errorBox, h, replace, tableRows, time } from '../dom.js';
import type { Page } from './page.js';
import { serialized } from './page.js';

interface Session {
  id: string;
  userId: string;
  provider: string;
  createdAt: string;
  lastUsedAt: string;
  expiresAt: string;
  status: 'active' | 'expired' | 'revoked';
  revokedReason: string | null;
  client: string | null;
}

const STATUS_BADGE: Record<Session['status'], string> = { active: 'succeeded', expired: 'pending', revoked: 'failed' };

export function sessions(): Page {
  const rows = h('tbody');
  const problem = h('div');
  const note = h('p', { class: 'muted' });
  async function revoke(body: { id: string } | { userId: string }) {
    try {
      await post('admin/auth/sessions/revoke', body);
      await refresh();
    } catch (error) {
      replace(problem, errorBox((error as Error).message));
    }
  }
  const refresh = serialized(async () => {
    try {
      const { enabled, sessions: list } = await get<{ enabled: boolean; sessions: Session[] }>('admin/auth/sessions');
      replace(problem);
      replace(
        note,
        enabled
          ? 'Sessions of valet/auth, newest first. The CLI: valet auth sessions.'
          : 'This app does not sign people in itself: add valet/auth.ts (docs/auth.md).',
      );
      replace(
        rows,
        tableRows(list, 7, 'No sessions yet.', (s) =>
          h(
            'tr',
            { 'data-testid': 'session' },
            h('td', {}, h('code', {}, s.userId)),
            h('td', {}, s.provider),
            h(
              'td',
              {},
              badge(s.status, STATUS_BADGE[s.status]),
              s.revokedReason && h('div', { class: 'muted' }, s.revokedReason),
            ),
            h('td', {}, time(s.createdAt)),
            h('td', {}, time(s.lastUsedAt)),
            h('td', { class: 'muted' }, s.client ?? '—'),
            h(
              'td',
              { class: 'actions' },
              s.status === 'active' && [
                h('button', { type: 'button', onclick: () => void revoke({ id: s.id }) }, 'Revoke'),
                h(
                  'button',
                  { type: 'button', class: 'secondary', onclick: () => void revoke({ userId: s.userId }) },
                  'Revoke all of this user',
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
      h('h1', {}, 'Sessions'),
      note,
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
            ['User', 'Provider', 'State', 'Signed in', 'Last used', 'Client', ''].map((t) => h('th', {}, t)),
          ),
        ),
        rows,
      ),
    ),
    refresh: (topics) => (topics.includes('db') || topics.includes('state') ? refresh() : Promise.resolve()),
  };
}
