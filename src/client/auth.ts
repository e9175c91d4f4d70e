// The client side of signing in, as Convex's setAuth does it: the app hands over a function that
// fetches a token (its own sign-in, Clerk's getToken, Auth0's getAccessTokenSilently); the client
// sends it with every request and on the live connection, fetches a fresh one a minute before the
// current one expires, and once more (forced) when the server refuses it — then, if the fresh one
// is refused too, the app is signed out. `isAuthenticated` turns true only when the server accepted
// the token, never on the client's word.

export type FetchToken = (args: { forceRefreshToken: boolean }) => Promise<string | null | undefined>;

export interface AuthState {
  /** A token is being fetched, or the server has not answered it yet. */
  isLoading: boolean;
  /** The server accepted the current token. */
  isAuthenticated: boolean;
}

/** Refresh this long before a token's `exp` (or at 80 % of a shorter life). */
const REFRESH_AHEAD_MS = 60_000;
/** The longest a timer may wait (setTimeout's limit is ~24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A JWT's `exp` in ms, or null when the token is not a JWT with one. */
export function expiryOf(token: string): number | null {
  const payload = token.split('.')[1];
  if (!payload) return null;
  try {
    const base64 = payload.replace(/-/g, '+').replace(/_/g, '/');
    const bytes = Uint8Array.from(atob(base64.padEnd(Math.ceil(base64.length / 4) * 4, '=')), (c) => c.charCodeAt(0));
    const json = JSON.parse(new TextDecoder().decode(bytes)) as { exp?: unknown };
    return typeof json.exp === 'number' ? json.exp * 1000 : null;
  } catch {
    return null;
  }
}

export class ClientAuth {
  private token: string | null = null;
  private first: Promise<void>;
  private refreshTimer: ReturnType<typeof setTimeout> | null = null;
  /** A forced fetch after a refusal was made for the current token. */
  private retried = false;
  /** The refused token a forced fetch is replacing right now. */
  private replacing: string | null = null;
  private stopped = false;
  state: AuthState = { isLoading: true, isAuthenticated: false };

  constructor(
    private readonly fetchToken: FetchToken,
    /** Sends a token (or null) on the live connection. */
    private readonly sendToken: (token: string | null) => void,
    private readonly onState: (state: AuthState) => void,
  ) {
    this.first = this.fetch(false).then((token) => {
      if (!token) this.setState({ isLoading: false, isAuthenticated: false });
      this.sendToken(token);
    });
  }

  /** The token to send now (waits for the first fetch). */
  async current(): Promise<string | null> {
    await this.first.catch(() => undefined);
    return this.token;
  }

  /**
   * The server accepted `token` (on the live connection; undefined: the current one, from a server
   * that does not say which). An answer about an older token changes nothing.
   */
  accepted(token?: string | null): void {
    if (this.stopped || !this.token || (token !== undefined && token !== this.token)) return;
    this.retried = false;
    this.setState({ isLoading: false, isAuthenticated: true });
  }

  /**
   * The server refused the token: fetch a fresh one once and send it; refused again (or none),
   * the app is signed out. Whether a fresh token is being tried (the refusal is not final).
   */
  async refused(refusedToken?: string | null): Promise<boolean> {
    if (this.stopped) return false;
    // A late answer about a token already replaced (or being replaced): nothing to do or report.
    if (refusedToken !== undefined && refusedToken !== this.token) return true;
    if (this.replacing !== null && this.replacing === this.token) return true;
    if (this.retried || !this.token) {
      this.signedOut();
      return false;
    }
    this.retried = true;
    this.replacing = this.token;
    this.setState({ isLoading: true, isAuthenticated: false });
    const token = await this.fetch(true).catch(() => null);
    this.replacing = null;
    if (!token) {
      this.signedOut();
      return false;
    }
    this.sendToken(token);
    return true;
  }

  /** An HTTP call was refused with 401: a fresh token to retry it with, once, or null. */
  async afterUnauthorized(sent: string | null): Promise<string | null> {
    if (this.stopped || !sent) return null;
    // Another call already fetched a fresh one.
    if (this.token && this.token !== sent) return this.token;
    const token = await this.fetch(true).catch(() => null);
    if (token) this.sendToken(token);
    else this.signedOut();
    return token;
  }

  stop(): void {
    this.stopped = true;
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.refreshTimer = null;
  }

  private signedOut(): void {
    this.token = null;
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.refreshTimer = null;
    this.setState({ isLoading: false, isAuthenticated: false });
  }

  private async fetch(force: boolean): Promise<string | null> {
    const token = (await this.fetchToken({ forceRefreshToken: force })) ?? null;
    if (this.stopped) return null;
    this.token = token;
    this.scheduleRefresh();
    return token;
  }

  private scheduleRefresh(): void {
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.refreshTimer = null;
    const expiry = this.token ? expiryOf(this.token) : null;
    if (expiry === null) return;
    const left = expiry - Date.now();
    const wait = Math.min(
      MAX_TIMER_MS,
      Math.max(0, left > 2 * REFRESH_AHEAD_MS ? left - REFRESH_AHEAD_MS : left * 0.8),
    );
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = null;
      void this.fetch(true)
        .then((token) => (token ? this.sendToken(token) : this.signedOut()))
        .catch(() => this.signedOut());
    }, wait);
    // A refresh alone must not keep a Node process alive.
    (this.refreshTimer as { unref?: () => void }).unref?.();
  }

  private setState(state: AuthState): void {
    if (this.state.isLoading === state.isLoading && this.state.isAuthenticated === state.isAuthenticated) return;
    this.state = state;
    this.onState(state);
  }
}
