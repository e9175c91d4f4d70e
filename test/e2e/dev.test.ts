// What a new user does, with the real built binary: init → valet dev → call a query and the
// seed's sendWelcomeEmail with a dev token → edit the action and see the new behaviour → break a
// file, see the error while the old build answers → fix it → check the invocation log and the
// outbox → stop with SIGINT.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { linkedTemplateApp, removeTempDirs, valet, valetAsync } from '../helpers/apps.js';
import { freePort, killAll, spawnValet } from '../helpers/processes.js';

afterAll(() => {
  killAll();
  removeTempDirs();
});

it('runs the basic template under valet dev, hot reloading and surviving a broken save', async () => {
  const app = await linkedTemplateApp('basic', 'my-app');

  const port = await freePort();
  const dev = spawnValet(['dev', '--port', String(port), '--no-typecheck'], app);
  try {
    const url = (
      await dev.waitFor(
        /Valet dev: \d+ functions at (http:\/\/127\.0\.0\.1:\d+) \(ready in \d+ ms\) — get a token with npx valet token <userId>/,
      )
    )[1]!;
    const token = valet(['token', 'ada'], app).stdout.trim();
    const call = async (kind: string, path: string, args: object, headers: Record<string, string> = {}) => {
      const response = await fetch(`${url}/api/${kind}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, ...headers },
        body: JSON.stringify({ path, args }),
      });
      return { status: response.status, body: (await response.json()) as any };
    };

    const userId = (await call('mutation', 'users:create', { email: 'ada@example.com', name: 'Ada' })).body.value;
    expect((await call('query', 'users:list', {})).body.value).toEqual([
      expect.objectContaining({ email: 'ada@example.com' }),
    ]);
    expect(await call('action', 'actions:sendWelcomeEmail', { userId }, { 'idempotency-key': 'welcome-ada' })).toEqual({
      status: 200,
      body: { value: { accepted: true } },
    });

    const actions = join(app, 'valet/actions.ts');
    const original = readFileSync(actions, 'utf8');
    writeFileSync(
      actions,
      original.replace('return { accepted: true };', "return { accepted: true, greeting: 'v2' };"),
    );
    await dev.waitFor(/↻ valet\/actions\.ts → \d+ functions in \d+ ms/);
    expect((await call('action', 'actions:sendWelcomeEmail', { userId })).body.value).toEqual({
      accepted: true,
      greeting: 'v2',
    });

    writeFileSync(actions, original.replace('return { accepted: true };', "return { accepted: true, greeting: 'v3' ;"));
    await dev.waitFor(/✖ valet\/actions\.ts:\d+:\d+ [^\n]+\n[\s\S]*the last good build keeps serving/);
    expect(dev.output()).toMatch(/> \d+ \| .*greeting: 'v3' ;/);
    expect((await call('action', 'actions:sendWelcomeEmail', { userId })).body.value).toEqual({
      accepted: true,
      greeting: 'v2',
    });

    const reloads = dev.output().match(/↻ valet\/actions\.ts/g)!.length;
    writeFileSync(actions, original);
    await dev.waitFor(new RegExp(`(↻ valet\\/actions\\.ts[^\\n]*\\n[\\s\\S]*){${reloads + 1}}`));
    expect((await call('action', 'actions:sendWelcomeEmail', { userId })).body.value).toEqual({ accepted: true });

    const invocations = JSON.parse((await valetAsync(['invocations', 'ls', '--json'], app)).stdout);
    expect(invocations.map((i: { function: string; status: string }) => [i.function, i.status])).toEqual([
      ['actions:sendWelcomeEmail', 'succeeded'],
      ['actions:sendWelcomeEmail', 'succeeded'],
      ['actions:sendWelcomeEmail', 'succeeded'],
      ['actions:sendWelcomeEmail', 'succeeded'],
    ]);
    expect(invocations.at(-1)).toMatchObject({
      idempotencyKey: 'welcome-ada',
      invoker: { type: 'user', userId: 'ada' },
    });
    // Delivered by the dev capture: stored, and announced as one terminal line each.
    await dev.waitFor(/(✉ email to ada@example\.com: "Welcome to Valet"[^\n]*\n[\s\S]*){4}/);
    const delivered = JSON.parse((await valetAsync(['outbox', 'ls', '--json'], app)).stdout);
    expect(
      delivered.map((e: { to: string[]; subject: string; status: string }) => [e.to[0], e.subject, e.status]),
    ).toEqual(Array(4).fill(['ada@example.com', 'Welcome to Valet', 'sent']));

    // The template's purchase flow: a push to the buyer's browser, captured under valet dev.
    const keys = (await (await fetch(`${url}/api/push/public-key`)).json()) as { publicKey: string };
    expect(Buffer.from(keys.publicKey, 'base64url')).toHaveLength(65);
    const subscription = {
      endpoint: 'https://push.example/send/ada',
      keys: {
        p256dh: 'BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM',
        auth: 'tBHItJI5svbpez7KI4CCXg',
      },
    };
    expect((await call('mutation', 'push:register', { subscription })).status).toBe(200);
    expect((await call('mutation', 'purchases:record', { item: 'lamp', amountCents: 4500 })).status).toBe(200);
    await dev.waitFor(/🔔 push to push\.example: "Thanks for your purchase" \(captured; valet outbox show \S+\)/);
    const pushes = JSON.parse((await valetAsync(['outbox', 'ls', '--channel', 'push', '--json'], app)).stdout);
    expect(pushes).toEqual([
      expect.objectContaining({ channel: 'push', subject: 'Thanks for your purchase', status: 'sent' }),
    ]);
  } finally {
    expect(await dev.stop('SIGINT')).toBe(0);
  }
  expect(dev.output()).toContain('Stopping…');
});
