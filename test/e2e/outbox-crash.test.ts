// Nothing committed is lost: `valet start` delivering a few hundred emails to a real SMTP server
// (or pushes to a real Web Push service) is killed with SIGKILL mid-delivery and restarted; every
// message reaches the server at least once, and the delivery keys received are exactly the ones
// enqueued.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { fixtureApp, removeTempDirs, valet } from '../helpers/apps.js';
import { freePort, killAll, spawnValet } from '../helpers/processes.js';
import { startPushReceiver } from '../helpers/push-receiver.js';
import { startSmtpServer } from '../helpers/smtp.js';

afterAll(() => {
  killAll();
  removeTempDirs();
});

const COUNT = 400;

async function waitUntil(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

it('delivers every committed email at least once across a SIGKILL', async () => {
  const smtp = await startSmtpServer();
  smtp.delayMs = 10; // keep deliveries in flight long enough to kill the server among them
  try {
    const app = fixtureApp('engine-app');
    expect(valet(['codegen'], app).code).toBe(0);
    const port = await freePort();
    const env = { VALET_SMTP_URL: smtp.url, VALET_OUTBOX_LEASE_MS: '1500' };

    const first = spawnValet(['start', '--port', String(port)], app, env);
    const url = (await first.waitFor(/at (http:\/\/127\.0\.0\.1:\d+) .*email via smtp/))[1]!;
    const response = await fetch(`${url}/api/mutation`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ path: 'jobs:mailMany', args: { prefix: 'crash', count: COUNT } }),
    });
    expect(await response.json()).toEqual({ value: COUNT });

    await waitUntil(() => smtp.received.length >= 40, 20_000, 'the first deliveries');
    first.child.kill('SIGKILL');
    await first.exited;
    const beforeRestart = new Set(smtp.received.map((m) => m.deliveryKey)).size;
    expect(beforeRestart).toBeLessThan(COUNT);

    const second = spawnValet(['start', '--port', String(port)], app, env);
    await second.waitFor(/Valet serving/);
    await waitUntil(
      () => new Set(smtp.received.map((m) => m.deliveryKey)).size === COUNT,
      30_000,
      'every delivery key',
    );
    const keys = new Set(smtp.received.map((m) => m.deliveryKey));
    expect([...keys].sort()).toEqual(Array.from({ length: COUNT }, (_, i) => `crash-${i}`).sort());
    expect(smtp.received.length).toBeGreaterThanOrEqual(COUNT);

    await waitUntil(
      () =>
        JSON.parse(valet(['outbox', 'ls', '--status', 'sent', '--limit', '1000', '--json'], app).stdout).length ===
        COUNT,
      10_000,
      'every row marked sent',
    );
    expect(await second.stop('SIGINT')).toBe(0);
  } finally {
    await smtp.close();
  }
});

it('delivers every committed push at least once across a SIGKILL', async () => {
  const PUSHES = 300;
  const receiver = await startPushReceiver();
  receiver.delayMs = 10;
  try {
    const app = fixtureApp('engine-app');
    expect(valet(['codegen'], app).code).toBe(0);
    const port = await freePort();
    const env = { VALET_PUSH_ALLOW_LOOPBACK: '1', VALET_OUTBOX_LEASE_MS: '1500' };
    const call = (url: string, path: string, args: unknown) =>
      fetch(`${url}/api/mutation`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ path, args }),
      }).then((r) => r.json());

    const first = spawnValet(['start', '--port', String(port)], app, env);
    const url = (await first.waitFor(/at (http:\/\/127\.0\.0\.1:\d+) .*push via web-push/))[1]!;
    expect(await call(url, 'push:register', { subscription: receiver.subscribe(), userId: 'crash' })).toEqual({
      value: expect.any(String),
    });
    expect(await call(url, 'push:many', { userId: 'crash', prefix: 'crash', count: PUSHES })).toEqual({
      value: PUSHES,
    });

    const seen = () => new Set(receiver.received.map((push) => String(push.payload.deliveryKey).split(':')[0]));
    await waitUntil(() => receiver.received.length >= 30, 60_000, 'the first deliveries');
    first.child.kill('SIGKILL');
    await first.exited;
    expect(seen().size).toBeLessThan(PUSHES);

    const second = spawnValet(['start', '--port', String(port)], app, env);
    await second.waitFor(/Valet serving/);
    await waitUntil(() => seen().size === PUSHES, 90_000, 'every delivery key');
    expect([...seen()].sort()).toEqual(Array.from({ length: PUSHES }, (_, i) => `crash-${i}`).sort());
    expect(receiver.rejected).toEqual([]);
    await waitUntil(
      () =>
        JSON.parse(
          valet(['outbox', 'ls', '--channel', 'push', '--status', 'sent', '--limit', '1000', '--json'], app).stdout,
        ).length === PUSHES,
      10_000,
      'every row marked sent',
    );

    // What was sent, from the CLI and the admin API: the payload, the subscription, each attempt.
    const [one] = JSON.parse(valet(['outbox', 'ls', '--channel', 'push', '--limit', '1', '--json'], app).stdout) as {
      id: string;
    }[];
    const shown = valet(['outbox', 'show', one!.id], app).stdout;
    expect(shown).toMatch(/Channel: push/);
    expect(shown).toMatch(/Subscription: \S+ http:\/\/127\.0\.0\.1:\d+\/\S+ \(user crash\)/);
    expect(shown).toMatch(/--- attempts ---\n(?:.*\n)*?\s*\d+ .* sent\s+HTTP 201/);
    expect(shown).toMatch(/--- payload \(ttl 86400 s, urgency normal\) ---\n\{\n\s+"title": "Message \d+"/);
    expect(JSON.parse(valet(['push', 'subscriptions', '--user', 'crash', '--json'], app).stdout)).toEqual([
      expect.objectContaining({ userId: 'crash', invalidAt: null }),
    ]);
    expect(JSON.parse(valet(['outbox', 'ls', '--channel', 'email', '--json'], app).stdout)).toEqual([]);
    const admin = { 'x-valet-admin-key': readFileSync(join(app, '.valet', 'admin-key'), 'utf8').trim() };
    const listed = (await (await fetch(`${url}/admin/outbox?channel=push&limit=500`, { headers: admin })).json()) as {
      messages: { channel: string }[];
    };
    expect(listed.messages).toHaveLength(PUSHES);
    expect(new Set(listed.messages.map((m) => m.channel))).toEqual(new Set(['push']));
    const stored = (await (await fetch(`${url}/admin/push/subscriptions?user=crash`, { headers: admin })).json()) as {
      subscriptions: unknown[];
    };
    expect(stored.subscriptions).toHaveLength(1);
    expect(await second.stop('SIGINT')).toBe(0);
  } finally {
    await receiver.close();
  }
});
