// ValetClient.setAuth against the real server: the server's acceptance makes the client
// authenticated; a refused token is fetched again once (forced) and the fresh one used, on the live
// connection and for HTTP calls; a second refusal signs the client out and says why; clearAuth
// re-runs live queries as anonymous. The refresh before expiry is driven by fake timers.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { WebSocket } from 'ws';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { ClientAuth, expiryOf } from '../../src/client/auth.js';
import type { AuthState } from '../../src/client/auth.js';
import { ValetAuthClient, ValetClient } from '../../src/client/index.js';
import type { SessionStore, ValetAuthSession, ValetClientError } from '../../src/client/index.js';
import { listOutbox } from '../../src/runtime/outbox/store.js';
import { authConfigFromJwks } from '../../src/runtime/auth/config.js';
import { functionRef } from '../../src/server/index.js';
import { fixtureApp, removeTempDirs } from '../helpers/apps.js';
import { serveFixture } from '../helpers/sync-server.js';

afterAll(removeTempDirs);

const ISSUER = 'https://tokens.example.com';
const pair = await generateKeyPair('ES256');
const stranger = await generateKeyPair('ES256');
const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256' };
const identity = functionRef('me:identity', 'query', { access: 'public' });

function token(sub: string, { key = pair.privateKey, expiresIn = '10m' } = {}) {
  return new SignJWT({ email: `${sub}@example.com` })
    .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
    .setIssuer(ISSUER)
    .setAudience('auth-app')
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(key);
}

/** The first value `subscribe` delivers that passes `test`. */
function nextValue<T>(client: ValetClient, test: (value: T) => boolean): Promise<T> {
  return new Promise((resolve) => {
    const stop = client.subscribe(identity as never, {} as never, (value) => {
      if (value !== undefined && test(value as T)) {
        queueMicrotask(() => stop());
        resolve(value as T);
      }
    });
  });
}

function stateReached(client: ValetClient, wanted: AuthState): Promise<void> {
  const matches = (s: AuthState) => s.isLoading === wanted.isLoading && s.isAuthenticated === wanted.isAuthenticated;
  if (matches(client.authState)) return Promise.resolve();
  return new Promise((resolve) => {
    const stop = client.onAuthChange((state) => {
      if (matches(state)) {
        stop();
        resolve();
      }
    });
  });
}

describe('ValetClient.setAuth', async () => {
  const app = fixtureApp('auth-app', []);
  rmSync(join(app, 'valet', 'auth.config.ts'));
  const served = await serveFixture('auth-app', app, 0, {
    auth: authConfigFromJwks({ keys: [jwk] }, ISSUER, 'auth-app', ['ES256'], 'the test issuer'),
  });
  afterAll(() => served.stop());

  it('is authenticated once the server accepts the token; live queries and HTTP calls see the user', async () => {
    const client = new ValetClient(served.url, { WebSocket: WebSocket as never });
    const changes: boolean[] = [];
    client.setAuth(
      async () => token('ada'),
      (signedIn) => changes.push(signedIn),
    );
    expect(client.authState).toEqual({ isLoading: true, isAuthenticated: false });
    await stateReached(client, { isLoading: false, isAuthenticated: true });
    expect(changes).toEqual([true]);
    const live = await nextValue<{ subject: string } | null>(client, (v) => v !== null);
    expect(live).toMatchObject({ subject: 'ada', email: 'ada@example.com', tokenIdentifier: `${ISSUER}|ada` });
    expect(await client.query(identity as never, {} as never)).toMatchObject({ subject: 'ada' });
    // Signed out: the same live query runs as anonymous.
    const anonymous = nextValue<unknown>(client, (v) => v === null);
    client.clearAuth();
    expect(await anonymous).toBeNull();
    expect(client.authState).toEqual({ isLoading: false, isAuthenticated: false });
    client.close();
  });

  it('fetches a fresh token once (forced) when the server refuses one, and uses it', async () => {
    const client = new ValetClient(served.url, { WebSocket: WebSocket as never });
    const asked: boolean[] = [];
    client.setAuth(async ({ forceRefreshToken }) => {
      asked.push(forceRefreshToken);
      // The cached token was signed by a key the server does not trust (say, rotated away).
      return forceRefreshToken ? token('bob') : token('bob', { key: stranger.privateKey });
    });
    expect(await client.query(identity as never, {} as never)).toMatchObject({ subject: 'bob' });
    await stateReached(client, { isLoading: false, isAuthenticated: true });
    expect(asked[0]).toBe(false);
    expect(asked.filter(Boolean).length).toBeGreaterThanOrEqual(1);
    expect(asked.filter(Boolean).length).toBeLessThanOrEqual(2);
    client.close();
  });

  it('signs out and says why when the fresh token is refused too', async () => {
    const client = new ValetClient(served.url, { WebSocket: WebSocket as never });
    const errors: ValetClientError[] = [];
    client.onError((error) => errors.push(error));
    const changes: boolean[] = [];
    client.setAuth(
      async () => token('eve', { key: stranger.privateKey }),
      (signedIn) => changes.push(signedIn),
    );
    await stateReached(client, { isLoading: false, isAuthenticated: false });
    await vi.waitUntil(() => errors.length > 0);
    expect(errors[0]?.code).toBe('token_signature_invalid');
    expect(changes).toEqual([false]);
    client.close();
  });
});

describe('ClientAuth refresh', () => {
  it('fetches a fresh token a minute before the current one expires, and sends it', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      const sent: (string | null)[] = [];
      const asked: boolean[] = [];
      let n = 0;
      const auth = new ClientAuth(
        async ({ forceRefreshToken }) => {
          asked.push(forceRefreshToken);
          return token(`user-${++n}`, { expiresIn: '10m' });
        },
        (t) => sent.push(t),
        () => undefined,
      );
      await vi.waitUntil(() => sent.length === 1);
      const first = sent[0]!;
      expect(expiryOf(first)! - Date.now()).toBeGreaterThan(9 * 60_000);
      await vi.advanceTimersByTimeAsync(8 * 60_000);
      expect(asked).toEqual([false]);
      await vi.advanceTimersByTimeAsync(60_000 + 1_000);
      await vi.waitUntil(() => sent.length === 2);
      expect(asked).toEqual([false, true]);
      expect(sent[1]).not.toBe(first);
      auth.stop();
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('ValetAuthClient (valet/auth from a client)', async () => {
  const served = await serveFixture('signin-app');
  afterAll(() => served.stop());
  const viewer = functionRef('me:viewer', 'query', { access: 'public' });

  function memoryStore(): SessionStore & { current: ValetAuthSession | null } {
    return {
      current: null,
      load() {
        return this.current;
      },
      save(session) {
        this.current = session;
      },
    };
  }

  async function emailedCode(to: string): Promise<string> {
    const emails = (await listOutbox(served.engine.connections.autoCommit.sql, { bodies: true })).filter((e) =>
      e.to.includes(to),
    );
    return /(\d{8})$/.exec(emails.at(-1)?.subject ?? '')![1]!;
  }

  it('signs up with a code, signs in the live connection, refreshes when refused, signs out', async () => {
    const client = new ValetClient(served.url, { WebSocket: WebSocket as never });
    const store = memoryStore();
    const auth = new ValetAuthClient(client, { store });
    expect(await auth.signIn('email', { email: 'lin@example.com' })).toEqual({ signingIn: false });
    expect(
      await auth.signIn('email', { email: 'lin@example.com', code: await emailedCode('lin@example.com') }),
    ).toEqual({
      signingIn: true,
    });
    await stateReached(client, { isLoading: false, isAuthenticated: true });
    const first = store.current!;
    const live = await new Promise<{ user: { email: string } | null }>((resolve) => {
      const stop = client.subscribe(viewer as never, {} as never, (value) => {
        const v = value as { user: { email: string } | null } | undefined;
        if (v?.user) {
          queueMicrotask(() => stop());
          resolve(v);
        }
      });
    });
    expect(live.user).toMatchObject({ email: 'lin@example.com' });
    client.close();
    // A reload after the access token expired: the kept session is refreshed, the client signed in.
    store.current = { ...first, expiresAt: Date.now() - 1 };
    const reloaded = new ValetClient(served.url, { WebSocket: WebSocket as never });
    const again = new ValetAuthClient(reloaded, { store });
    await stateReached(reloaded, { isLoading: false, isAuthenticated: true });
    expect(store.current!.refreshToken).not.toBe(first.refreshToken);
    expect(await reloaded.query(viewer as never, {} as never)).toMatchObject({ user: { email: 'lin@example.com' } });
    const second = store.current!;
    await again.signOut();
    expect(store.current).toBeNull();
    expect(reloaded.authState).toEqual({ isLoading: false, isAuthenticated: false });
    // The spent session is over on the server too.
    const refused = await fetch(`${served.url}/api/auth/refresh`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refreshToken: second.refreshToken }),
    });
    expect(refused.status).toBe(401);
    reloaded.close();
  });
});
