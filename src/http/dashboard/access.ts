// Who may use the dashboard: whoever opened a link the server printed. The link carries a
// one-time token (10 minutes); opening it sets a cookie — HttpOnly (no script reads it),
// SameSite=Strict (no other site's page or form sends it), Path=/_dashboard — whose value is an
// expiry signed with the admin key, so it outlives a restart of the server and dies with a new
// key. The admin key itself never reaches the browser. Cookies ignore ports, so the cookie's name
// carries this server's port: two local servers do not overwrite each other's.
import { systemClock } from '../../runtime/clock.js';
import { createHmac, randomBytes } from 'node:crypto';
import { sameSecret } from '../../runtime/auth/same-secret.js';

const LINK_TTL_MS = 10 * 60 * 1000;
const SESSION_TTL_MS = 7 * 24 * 3600 * 1000;
const MAX_OPEN_LINKS = 100;

export class DashboardAccess {
  private readonly links = new Map<string, number>();

  constructor(
    private readonly secret: string,
    private readonly now: () => number = systemClock.now,
  ) {}

  cookieName(port: number | string): string {
    return `valet_dashboard_${port}`;
  }

  /** A fresh one-time sign-in URL under `baseUrl` (the server's own). */
  issueLink(baseUrl: string): string {
    const now = this.now();
    for (const [token, expires] of this.links)
      if (expires < now || this.links.size >= MAX_OPEN_LINKS) this.links.delete(token);
    const token = randomBytes(24).toString('base64url');
    this.links.set(token, now + LINK_TTL_MS);
    return `${baseUrl}/_dashboard/login?token=${token}`;
  }

  /** Uses up a link's token; the cookie value to set, or null for an unknown, used or expired token. */
  redeem(token: string): string | null {
    const expires = this.links.get(token);
    this.links.delete(token);
    if (expires === undefined || expires < this.now()) return null;
    const until = this.now() + SESSION_TTL_MS;
    return `${until}.${this.sign(until)}`;
  }

  /** Set-Cookie for a session value (Max-Age=0 to clear). */
  setCookie(port: number | string, value: string): string {
    const maxAge = value === '' ? 0 : Math.floor(SESSION_TTL_MS / 1000);
    return `${this.cookieName(port)}=${value}; Path=/_dashboard; HttpOnly; SameSite=Strict; Max-Age=${maxAge}`;
  }

  /** Whether a request's Cookie header holds a live session of this server. */
  verify(cookieHeader: string | undefined, port: number | string): boolean {
    if (!cookieHeader) return false;
    const name = `${this.cookieName(port)}=`;
    const value = cookieHeader
      .split(';')
      .map((part) => part.trim())
      .find((part) => part.startsWith(name))
      ?.slice(name.length);
    const match = value ? /^(\d+)\.([\w-]+)$/.exec(value) : null;
    if (!match) return false;
    const until = Number(match[1]);
    return until > this.now() && sameSecret(match[2]!, this.sign(until));
  }

  private sign(until: number): string {
    return createHmac('sha256', this.secret).update(`valet-dashboard:${until}`).digest('base64url');
  }
}
