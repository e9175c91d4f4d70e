// Nothing committed is lost: `valet start` delivering a few hundred emails to a real SMTP server
// is killed with SIGKILL mid-delivery and restarted; every email reaches the server at least
// once, and the delivery keys received are exactly the ones enqueued.
import { afterAll, expect, it } from 'vitest';
import { fixtureApp, removeTempDirs, valet } from '../helpers/apps.js';
import { freePort, killAll, spawnValet } from '../helpers/processes.js';
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
    await waitUntil(() => new Set(smtp.received.map((m) => m.deliveryKey)).size === COUNT, 30_000, 'every delivery key');
    const keys = new Set(smtp.received.map((m) => m.deliveryKey));
    expect([...keys].sort()).toEqual(Array.from({ length: COUNT }, (_, i) => `crash-${i}`).sort());
    expect(smtp.received.length).toBeGreaterThanOrEqual(COUNT);

    await waitUntil(() => JSON.parse(valet(['outbox', 'ls', '--status', 'sent', '--limit', '1000', '--json'], app).stdout).length === COUNT, 10_000, 'every row marked sent');
    expect(await second.stop('SIGINT')).toBe(0);
  } finally {
    await smtp.close();
  }
});
