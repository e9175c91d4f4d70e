// valet/auth's emails leaving through a real SMTP server (smtp-server on loopback), on both
// backends: a sign-up's confirmation code and a password reset's code arrive as mail, once each,
// and work; the reset ends every session the old password made, and the old password is refused.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { smtpTransport } from '../../src/runtime/outbox/transports.js';
import { removeTempDirs } from '../helpers/apps.js';
import { startSmtpServer } from '../helpers/smtp.js';
import type { TestSmtpServer } from '../helpers/smtp.js';
import { postJson, serveFixture } from '../helpers/sync-server.js';
import type { ServedApp } from '../helpers/sync-server.js';

let smtp: TestSmtpServer;
let served: ServedApp;

beforeAll(async () => {
  smtp = await startSmtpServer();
  served = await serveFixture('signin-app', undefined, 0, {
    background: true,
    emailTransport: await smtpTransport({ url: smtp.url, from: 'Signin Test <auth@example.com>' }),
  });
});

afterAll(async () => {
  await served?.stop();
  await smtp?.close();
  removeTempDirs();
});

const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  postJson(served.url, path, body, headers);

const signIn = (params: Record<string, unknown>) => post('/api/auth/signin', { provider: 'password', params });

/** The code in the newest mail to `to` whose subject starts with `subject`, once it has arrived. */
async function mailedCode(to: string, subject: string, count: number): Promise<string> {
  const mails = () => smtp.received.filter((m) => m.to.includes(to) && m.raw.includes(`Subject: ${subject}`));
  await expect.poll(() => mails().length, { timeout: 15_000, interval: 20 }).toBe(count);
  const code = /Subject: [^\n]*?(\d{8})\r?\n/.exec(mails().at(-1)!.raw)?.[1];
  if (!code) throw new Error(`no code in the mail: ${mails().at(-1)!.raw.slice(0, 400)}`);
  return code;
}

it('confirms a sign-up and resets a password with codes that came by SMTP', async () => {
  const email = 'lin@example.com';
  expect((await signIn({ flow: 'signUp', email, password: 'the first passphrase' })).body).toEqual({ started: true });
  const confirm = await mailedCode(email, 'Confirm your email', 1);
  const first = await signIn({ flow: 'email-verification', email, code: confirm });
  expect(first.status).toBe(200);

  expect((await signIn({ flow: 'reset', email })).body).toEqual({ started: true });
  const reset = await mailedCode(email, 'Reset your password', 1);
  // A weak new password is refused before the code is spent.
  expect((await signIn({ flow: 'reset-verification', email, code: reset, newPassword: 'short' })).status).toBe(400);
  const after = await signIn({ flow: 'reset-verification', email, code: reset, newPassword: 'the second passphrase' });
  expect(after.status).toBe(200);

  // The session the old password made is over; the old password no longer works; the new one does.
  expect((await post('/api/auth/refresh', { refreshToken: first.body.refreshToken })).body.code).toBe(
    'refresh_token_invalid',
  );
  expect((await signIn({ flow: 'signIn', email, password: 'the first passphrase' })).body.code).toBe(
    'invalid_credentials',
  );
  expect((await signIn({ flow: 'signIn', email, password: 'the second passphrase' })).status).toBe(200);
  // The reset code was for one use.
  expect(
    (await signIn({ flow: 'reset-verification', email, code: reset, newPassword: 'a third passphrase' })).body.code,
  ).toBe('invalid_code');
  // Each email went out once.
  expect(smtp.received.filter((m) => m.to.includes(email)).length).toBe(2);
});
