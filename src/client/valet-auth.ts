// The browser side of valet/auth: signIn(provider, params) against /api/auth/signin, the session
// (access and refresh token) kept in a SessionStore (localStorage by default, so a reload stays
// signed in — see docs/auth.md for the trade-off), and the client's token fetched from it:
// refreshed through /api/auth/refresh when it is about to expire or the server refused it. One
// refresh at a time: two with the same refresh token would look like a stolen one (reuse revokes).
import { ValetClientError } from './errors.js';
import type { ValetClient } from './valet-client.js';

export interface ValetAuthSession {
  token: string;
  refreshToken: string;
  /** When the access token expires (ms since the epoch). */
  expiresAt: number;
}

export interface SessionStore {
  load(): ValetAuthSession | null;
  save(session: ValetAuthSession | null): void;
}

/** localStorage under one key per server, or memory where there is none (Node, private modes). */
export function defaultSessionStore(url: string): SessionStore {
  const key = `valet-auth:${url}`;
  let memory: ValetAuthSession | null = null;
  const storage = (() => {
    try {
      return typeof localStorage === 'undefined' ? null : localStorage;
    } catch {
      return null;
    }
  })();
  return {
    load() {
      if (!storage) return memory;
      try {
        const parsed = JSON.parse(storage.getItem(key) ?? 'null') as ValetAuthSession | null;
        return parsed && typeof parsed.refreshToken === 'string' ? parsed : null;
      } catch {
        return null;
      }
    },
    save(session) {
      memory = session;
      if (!storage) return;
      if (session) storage.setItem(key, JSON.stringify(session));
      else storage.removeItem(key);
    },
  };
}

const REFRESH_AHEAD_MS = 60_000;

export class ValetAuthClient {
  private readonly store: SessionStore;
  private refreshing: Promise<string | null> | null = null;

  constructor(
    private readonly client: ValetClient,
    options: { store?: SessionStore } = {},
  ) {
    this.store = options.store ?? defaultSessionStore(client.url);
    // A session kept from before (a reload) signs the client in again.
    if (this.store.load()) this.attach();
  }

  private async post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<any> {
    const response = await fetch(`${this.client.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
    const answer = (await response.json().catch(() => ({}))) as Record<string, unknown>;
    if (!response.ok) throw ValetClientError.from(answer as never, response.status);
    return answer;
  }

  /**
   * Signs in with valet/auth: `{ signingIn: false }` when a code was emailed (call again with it),
   * `{ signingIn: true }` once signed in (the client then sends the new token).
   */
  async signIn(provider: string, params: Record<string, unknown>): Promise<{ signingIn: boolean }> {
    const answer = await this.post('/api/auth/signin', { provider, params });
    if (answer.started) return { signingIn: false };
    this.store.save({ token: answer.token, refreshToken: answer.refreshToken, expiresAt: answer.expiresAt });
    this.attach();
    return { signingIn: true };
  }

  /** Ends the session on the server (best effort) and here. */
  async signOut(): Promise<void> {
    const session = this.store.load();
    this.store.save(null);
    this.client.clearAuth();
    if (session) await this.post('/api/auth/signout', { refreshToken: session.refreshToken }).catch(() => undefined);
  }

  private attach(): void {
    this.client.setAuth(({ forceRefreshToken }) => this.token(forceRefreshToken));
  }

  private async token(force: boolean): Promise<string | null> {
    const session = this.store.load();
    if (!session) return null;
    if (!force && session.expiresAt - Date.now() > REFRESH_AHEAD_MS) return session.token;
    this.refreshing ??= this.refresh(session).finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  private async refresh(session: ValetAuthSession): Promise<string | null> {
    // Another tab may have refreshed already: its (newer) session is in the store.
    const current = this.store.load();
    if (current && current.refreshToken !== session.refreshToken && current.expiresAt - Date.now() > REFRESH_AHEAD_MS)
      return current.token;
    try {
      const next = await this.post('/api/auth/refresh', { refreshToken: session.refreshToken });
      this.store.save({ token: next.token, refreshToken: next.refreshToken, expiresAt: next.expiresAt });
      return next.token as string;
    } catch (error) {
      // A refused refresh token (spent, revoked, expired) ends the session here too.
      if (error instanceof ValetClientError && error.status === 401) this.store.save(null);
      throw error;
    }
  }
}

const byClient = new WeakMap<ValetClient, ValetAuthClient>();

/** The one ValetAuthClient of a ValetClient (made on first use, with the default session store). */
export function valetAuthOf(client: ValetClient): ValetAuthClient {
  let auth = byClient.get(client);
  if (!auth) {
    auth = new ValetAuthClient(client);
    byClient.set(client, auth);
  }
  return auth;
}
