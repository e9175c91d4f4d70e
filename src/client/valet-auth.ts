// The browser side of valet/auth: signIn(provider, params) against /api/auth/signin, the session
// (access and refresh token) kept in a SessionStore (localStorage by default, so a reload stays
// signed in — see docs/auth.md for the trade-off), and the client's token fetched from it:
// refreshed through /api/auth/refresh when it is about to expire or the server refused it. One
// refresh at a time: two with the same refresh token would look like a stolen one (reuse revokes).
// An OpenID Connect sign-in leaves the page: its provider and a random verifier wait in
// sessionStorage, and when the app's page comes back with `?code=` the client trades the code
// (with that verifier, which never left this tab) for the session, then takes `code` off the URL.
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

export interface AuthProviderInfo {
  id: string;
  type: 'password' | 'email' | 'oidc' | 'github';
  /** A provider that sends the browser away (OpenID Connect, GitHub): its name, for its button. */
  name?: string;
}

interface PendingRedirect {
  provider: string;
  verifier: string;
}

function sessionStorageOrNull(): Storage | null {
  try {
    return typeof sessionStorage === 'undefined' ? null : sessionStorage;
  } catch {
    return null;
  }
}

const pendingKey = (url: string) => `valet-auth-pending:${url}`;

function takePending(url: string): PendingRedirect | null {
  const storage = sessionStorageOrNull();
  if (!storage) return null;
  try {
    const pending = JSON.parse(storage.getItem(pendingKey(url)) ?? 'null') as PendingRedirect | null;
    storage.removeItem(pendingKey(url));
    return pending && typeof pending.verifier === 'string' && typeof pending.provider === 'string' ? pending : null;
  } catch {
    return null;
  }
}

function newVerifier(): string {
  const bytes = new Uint8Array(32);
  globalThis.crypto.getRandomValues(bytes);
  let text = '';
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** Sends the browser to the provider (a function so tests and native shells can do it their way). */
export type Navigate = (url: string) => void;

export class ValetAuthClient {
  private readonly store: SessionStore;
  private refreshing: Promise<string | null> | null = null;

  constructor(
    private readonly client: ValetClient,
    options: { store?: SessionStore; navigate?: Navigate } = {},
  ) {
    this.store = options.store ?? defaultSessionStore(client.url);
    this.navigate = options.navigate ?? ((url) => globalThis.location.assign(url));
    // Back from an OpenID Connect provider: finish that sign-in; else a session kept from before
    // (a reload) signs the client in again.
    if (!this.finishRedirect() && this.store.load()) this.attach();
  }

  private readonly navigate: Navigate;

  /** Why the last OpenID Connect sign-in came back without signing in (`access_denied`, …), if it did. */
  redirectError: string | null = null;

  /**
   * On the page an OpenID Connect provider sent the browser back to, with the verifier this tab
   * kept: trades `?code=` for the session (the client is loading meanwhile) and cleans the URL.
   */
  private finishRedirect(): boolean {
    const location = (globalThis as { location?: Location }).location;
    if (!location?.href) return false;
    const url = new URL(location.href);
    const code = url.searchParams.get('code');
    const error = url.searchParams.get('error');
    if (code === null && error === null) return false;
    const pending = takePending(this.client.url);
    if (!pending) return false;
    url.searchParams.delete('code');
    url.searchParams.delete('error');
    globalThis.history?.replaceState(globalThis.history.state, '', url.href);
    if (code === null) {
      this.redirectError = error;
      return false;
    }
    const exchange = this.post('/api/auth/signin', {
      provider: pending.provider,
      params: { code, verifier: pending.verifier },
    }).then((answer) => {
      this.store.save({ token: answer.token, refreshToken: answer.refreshToken, expiresAt: answer.expiresAt });
    });
    exchange.catch((failure: Error) => {
      this.redirectError = failure instanceof ValetClientError ? failure.code : 'sign_in_failed';
      this.client.clearAuth();
    });
    this.client.setAuth(async ({ forceRefreshToken }) => {
      await exchange.catch(() => undefined);
      return this.token(forceRefreshToken);
    });
    return true;
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
   * `{ signingIn: true }` once signed in (the client then sends the new token). With an OpenID
   * Connect provider, the browser goes to the provider (`{ signingIn: false, redirect }`) and comes
   * back to `params.redirectTo` (default: this page), where the client finishes signing in.
   */
  async signIn(
    provider: string,
    params: Record<string, unknown> = {},
  ): Promise<{ signingIn: boolean; redirect?: string }> {
    if (provider !== 'password' && provider !== 'email' && params.code === undefined) {
      const verifier = newVerifier();
      const redirectTo = params.redirectTo ?? (globalThis as { location?: Location }).location?.href;
      const answer = await this.post('/api/auth/signin', { provider, params: { ...params, redirectTo, verifier } });
      sessionStorageOrNull()?.setItem(pendingKey(this.client.url), JSON.stringify({ provider, verifier }));
      this.navigate(answer.redirect);
      return { signingIn: false, redirect: answer.redirect };
    }
    const answer = await this.post('/api/auth/signin', { provider, params });
    if (answer.started) return { signingIn: false };
    this.store.save({ token: answer.token, refreshToken: answer.refreshToken, expiresAt: answer.expiresAt });
    this.attach();
    return { signingIn: true };
  }

  /** The sign-in providers the app offers (valet/auth.ts), for a sign-in page to show. */
  async providers(): Promise<AuthProviderInfo[]> {
    const response = await fetch(`${this.client.url}/api/auth/providers`);
    const answer = (await response.json().catch(() => ({}))) as { providers?: AuthProviderInfo[] };
    if (!response.ok) throw ValetClientError.from(answer as never, response.status);
    return answer.providers ?? [];
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
