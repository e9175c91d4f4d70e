// valet/auth over the real HTTP server, on both backends: password sign-up confirmed by an
// emailed code (through the outbox), sign-in, refresh with rotation and reuse detection, sign-out
// and revocation, password reset, passwordless email codes linked to the same user, single-use
// codes, rate limits with Retry-After, the public keys — and no secret in any log line.
import { createLocalJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listOutbox } from '../../src/runtime/outbox/store.js';
import { removeTempDirs } from '../helpers/apps.js';
import { ManualClock } from '../helpers/engine.js';
import { postJson, serveFixture } from '../helpers/sync-server.js';
import type { ServedApp } from '../helpers/sync-server.js';

const clock = new ManualClock();
const logs: string[] = [];
let served: ServedApp;

beforeAll(async () => {
  served = await serveFixture('signin-app', undefined, 0, { clock, log: (line) => logs.push(line) });
});

afterAll(async () => {
  await served?.stop();
  removeTempDirs();
});

async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  // Each request a second later: the newest email is the newest by its time.
  clock.advance(1000);
  return postJson(served.url, path, body, headers);
}

const signIn = (provider: string, params: Record<string, unknown>) => post('/api/auth/signin', { provider, params });

async function viewer(token: string) {
  const response = await post('/api/query', { path: 'me:viewer', args: {} }, { authorization: `Bearer ${token}` });
  return response;
}

/** The code in the newest email to `to` (codes are visible in the captured outbox, as in valet dev). */
async function lastCode(to: string): Promise<string> {
  const emails = (await listOutbox(served.engine.connections.autoCommit.sql)).filter((e) => e.to.includes(to));
  const subject = emails.sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1))[0]?.subject ?? '';
  const code = /(\d{8})$/.exec(subject)?.[1];
  if (!code) throw new Error(`no code emailed to ${to} (subjects: ${emails.map((e) => e.subject).join(' | ')})`);
  return code;
}

const PASSWORD = 'correct horse battery';

describe('passwords', () => {
  let first: { token: string; refreshToken: string; expiresAt: number };

  it('signs up with a confirmed email: a code by email, then tokens for a users document', async () => {
    expect(await signIn('password', { flow: 'signUp', email: 'Ada@Example.com', password: PASSWORD })).toMatchObject({
      status: 200,
      body: { started: true },
    });
    const code = await lastCode('ada@example.com');
    expect(
      (await signIn('password', { flow: 'email-verification', email: 'ada@example.com', code: '00000000' })).body.code,
    ).toBe('invalid_code');
    const verified = await signIn('password', { flow: 'email-verification', email: 'ada@example.com', code });
    expect(verified.status).toBe(200);
    expect(verified.headers.get('cache-control')).toBe('no-store');
    first = verified.body;
    expect(first).toEqual({
      token: expect.any(String),
      refreshToken: expect.any(String),
      expiresAt: expect.any(Number),
    });
    const me = (await viewer(first.token)).body.value;
    expect(me.user).toMatchObject({ email: 'ada@example.com', _id: me.userId });
    expect(me.identity).toMatchObject({
      subject: me.userId,
      email: 'ada@example.com',
      emailVerified: true,
      valetAuth: true,
    });
    // The code is single-use.
    expect((await signIn('password', { flow: 'email-verification', email: 'ada@example.com', code })).body.code).toBe(
      'invalid_code',
    );
  });

  it('signs in with the password; a wrong password and an unknown email get the same answer', async () => {
    const ok = await signIn('password', { flow: 'signIn', email: 'ada@example.com', password: PASSWORD });
    expect(ok.status).toBe(200);
    const wrong = await signIn('password', { flow: 'signIn', email: 'ada@example.com', password: 'not the password' });
    const unknown = await signIn('password', { flow: 'signIn', email: 'nobody@example.com', password: PASSWORD });
    expect(wrong).toMatchObject({ status: 401, body: { code: 'invalid_credentials' } });
    expect(unknown.body).toEqual(wrong.body);
  });

  it('answers a sign-up for a taken address like any other, and tells the owner instead', async () => {
    const before = (await listOutbox(served.engine.connections.autoCommit.sql)).length;
    expect(
      (await signIn('password', { flow: 'signUp', email: 'ada@example.com', password: 'another long one' })).body,
    ).toEqual({
      started: true,
    });
    const emails = await listOutbox(served.engine.connections.autoCommit.sql);
    expect(emails.length).toBe(before + 1);
    expect(emails.find((e) => e.subject.startsWith('Someone tried to sign up'))?.to).toEqual(['ada@example.com']);
  });

  it('lets only the sign-up whose code the owner enters choose the password (no squatting)', async () => {
    // Someone else signs up first with the owner's address and their own password…
    await signIn('password', { flow: 'signUp', email: 'owner@example.com', password: 'the squatter password' });
    // …then the owner signs up, and enters the code of their own (the newest) email.
    await signIn('password', { flow: 'signUp', email: 'owner@example.com', password: 'the owner password' });
    const confirmed = await signIn('password', {
      flow: 'email-verification',
      email: 'owner@example.com',
      code: await lastCode('owner@example.com'),
    });
    expect(confirmed.status).toBe(200);
    expect(
      (await signIn('password', { flow: 'signIn', email: 'owner@example.com', password: 'the squatter password' }))
        .status,
    ).toBe(401);
    expect(
      (await signIn('password', { flow: 'signIn', email: 'owner@example.com', password: 'the owner password' })).status,
    ).toBe(200);
  });

  it('refuses weak passwords, naming why', async () => {
    for (const [password, why] of [
      ['short', /at least 8/],
      ['aaaaaaaaaaaa', /one character repeated/],
      ['password123', /most common/],
    ] as const) {
      const answer = await signIn('password', { flow: 'signUp', email: 'weak@example.com', password });
      expect(answer).toMatchObject({ status: 400, body: { code: 'invalid_auth_request' } });
      expect(answer.body.message).toMatch(why);
    }
  });

  it('rotates refresh tokens; a reused one ends its session at once', async () => {
    const refreshed = await post('/api/auth/refresh', { refreshToken: first.refreshToken });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.refreshToken).not.toBe(first.refreshToken);
    expect((await viewer(refreshed.body.token)).status).toBe(200);
    // The spent token again: someone copied it. Both tokens of the session stop working.
    expect((await post('/api/auth/refresh', { refreshToken: first.refreshToken })).body.code).toBe(
      'refresh_token_invalid',
    );
    expect((await post('/api/auth/refresh', { refreshToken: refreshed.body.refreshToken })).body.code).toBe(
      'refresh_token_invalid',
    );
    expect((await viewer(refreshed.body.token)).body.code).toBe('session_revoked');
  });

  it('signs out: the access token and the refresh token stop working', async () => {
    const session = (await signIn('password', { flow: 'signIn', email: 'ada@example.com', password: PASSWORD })).body;
    expect((await post('/api/auth/signout', {}, { authorization: `Bearer ${session.token}` })).body).toEqual({
      signedOut: true,
    });
    expect((await viewer(session.token)).body.code).toBe('session_revoked');
    expect((await post('/api/auth/refresh', { refreshToken: session.refreshToken })).body.code).toBe(
      'refresh_token_invalid',
    );
  });

  it('resets a password with an emailed code; every earlier session ends', async () => {
    const before = (await signIn('password', { flow: 'signIn', email: 'ada@example.com', password: PASSWORD })).body;
    expect((await signIn('password', { flow: 'reset', email: 'ada@example.com' })).body).toEqual({ started: true });
    // Unknown addresses get the same answer, and no email.
    const count = (await listOutbox(served.engine.connections.autoCommit.sql)).length;
    expect((await signIn('password', { flow: 'reset', email: 'ghost@example.com' })).body).toEqual({ started: true });
    expect((await listOutbox(served.engine.connections.autoCommit.sql)).length).toBe(count);
    const code = await lastCode('ada@example.com');
    const reset = await signIn('password', {
      flow: 'reset-verification',
      email: 'ada@example.com',
      code,
      newPassword: 'a brand new passphrase',
    });
    expect(reset.status).toBe(200);
    expect((await viewer(before.token)).body.code).toBe('session_revoked');
    expect((await signIn('password', { flow: 'signIn', email: 'ada@example.com', password: PASSWORD })).status).toBe(
      401,
    );
    expect(
      (await signIn('password', { flow: 'signIn', email: 'ada@example.com', password: 'a brand new passphrase' }))
        .status,
    ).toBe(200);
  });
});

describe('email codes', () => {
  it('signs in without a password, as the same user as the verified password account', async () => {
    const password = (
      await signIn('password', { flow: 'signIn', email: 'ada@example.com', password: 'a brand new passphrase' })
    ).body;
    const passwordUser = (await viewer(password.token)).body.value.userId;
    expect((await signIn('email', { email: 'ada@example.com' })).body).toEqual({ started: true });
    const viaCode = await signIn('email', { email: 'ada@example.com', code: await lastCode('ada@example.com') });
    expect(viaCode.status).toBe(200);
    expect((await viewer(viaCode.body.token)).body.value.userId).toBe(passwordUser);
  });

  it('creates a user for a new address, and kills a code after five wrong tries', async () => {
    await signIn('email', { email: 'grace@example.com' });
    const code = await lastCode('grace@example.com');
    for (let i = 0; i < 5; i++)
      expect((await signIn('email', { email: 'grace@example.com', code: '12345678' })).body.code).toBe('invalid_code');
    expect((await signIn('email', { email: 'grace@example.com', code })).body.code).toBe('invalid_code');
    await signIn('email', { email: 'grace@example.com' });
    const fresh = await signIn('email', { email: 'grace@example.com', code: await lastCode('grace@example.com') });
    expect(fresh.status).toBe(200);
    expect((await viewer(fresh.body.token)).body.value.user).toMatchObject({ email: 'grace@example.com' });
  });
});

describe('limits', () => {
  it('answers 429 with Retry-After after ten failed sign-ins for an account, and again after the window', async () => {
    let answer = { status: 0, headers: new Headers(), body: {} as any };
    for (let i = 0; i < 11; i++)
      answer = await signIn('password', { flow: 'signIn', email: 'target@example.com', password: `guess number ${i}` });
    expect(answer.status).toBe(429);
    expect(answer.body.code).toBe('auth_rate_limited');
    expect(Number(answer.headers.get('retry-after'))).toBeGreaterThan(0);
    clock.advance(15 * 60 * 1000);
    expect(
      (await signIn('password', { flow: 'signIn', email: 'target@example.com', password: 'one more guess' })).status,
    ).toBe(401);
  });
});

describe('the public keys', () => {
  it('verify a token anyone receives, from /.well-known/jwks.json', async () => {
    const session = (
      await signIn('password', { flow: 'signIn', email: 'ada@example.com', password: 'a brand new passphrase' })
    ).body;
    const jwks = await (await fetch(`${served.url}/.well-known/jwks.json`)).json();
    const { payload } = await jwtVerify(session.token, createLocalJWKSet(jwks), {
      audience: 'valet',
      issuer: 'valet-auth',
    });
    expect(payload.sub).toEqual(expect.any(String));
    expect(payload.exp! - payload.iat!).toBe(15 * 60);
  });

  it('never put a password, a code or a token in a log line', async () => {
    const text = logs.join('\n');
    for (const secret of [PASSWORD, 'a brand new passphrase', 'correct horse']) expect(text).not.toContain(secret);
    expect(text).not.toMatch(/eyJ[\w-]+\.[\w-]+\.[\w-]+/);
    expect(text).not.toMatch(/\b\d{8}\b/);
  });
});
