// Actions from the client: over HTTP, never queued, a fresh idempotency key per call; only
// safeToRetry actions are retried (same key) after a failure or a dropped connection.
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { WebSocket } from 'ws';
import { afterAll, describe, expect, it } from 'vitest';
import { ValetClient } from '../../src/client/index.js';
import { listInvocations } from '../../src/runtime/invocations/store.js';
import { functionRef, setActionInvoker } from '../../src/server/index.js';
import { removeTempDirs } from '../helpers/apps.js';
import { serveFixture } from '../helpers/sync-server.js';

afterAll(removeTempDirs);

const flaky = functionRef('actions:flaky', 'action', { access: 'public', safeToRetry: true });
const failing = functionRef('actions:failing', 'action', { access: 'public' });
const countRun = functionRef('actions:countRun', 'action', { access: 'public' });

describe('client actions', async () => {
  const served = await serveFixture('engine-app');
  afterAll(() => served.stop());
  const client = new ValetClient(served.url, {
    WebSocket: WebSocket as never,
    actionRetries: { attempts: 4, baseDelayMs: 5 },
  });
  afterAll(() => client.close());

  it('retries a safeToRetry action under one idempotency key until it succeeds', async () => {
    expect(await client.invokeAction(flaky, { label: 'client-flaky', failures: 2 })).toEqual({ attempts: 3 });
    const [record] = await listInvocations(served.engine.connections.autoCommit.sql, { function: 'actions:flaky' });
    expect(record).toMatchObject({ status: 'succeeded', attempts: 3, idempotencyKey: expect.any(String) });
    expect(await listInvocations(served.engine.connections.autoCommit.sql, { function: 'actions:flaky' })).toHaveLength(
      1,
    );
  });

  it('does not retry an action that is not safeToRetry, and sends a fresh key per call', async () => {
    await expect(client.invokeAction(failing, { label: 'once' })).rejects.toMatchObject({
      code: 'handler_error',
      status: 500,
    });
    await client.invokeAction(countRun, { label: 'a' });
    await client.invokeAction(countRun, { label: 'a' });
    const keys = (
      await listInvocations(served.engine.connections.autoCommit.sql, { function: 'actions:countRun' })
    ).map((i) => i.idempotencyKey);
    expect(new Set(keys).size).toBe(2);
    expect(
      await listInvocations(served.engine.connections.autoCommit.sql, { function: 'actions:failing' }),
    ).toHaveLength(1);
  });

  it('reuses a given idempotency key: the second call replays', async () => {
    await client.invokeAction(countRun, { label: 'keyed' }, { idempotencyKey: 'welcome-1' });
    await client.invokeAction(countRun, { label: 'keyed' }, { idempotencyKey: 'welcome-1' });
    expect(
      (await listInvocations(served.engine.connections.autoCommit.sql, { function: 'actions:countRun' })).filter(
        (i) => i.idempotencyKey === 'welcome-1',
      ),
    ).toHaveLength(1);
  });

  it('lets api refs invoke actions once a client is registered (what <ValetProvider> does)', async () => {
    await expect(
      (countRun as unknown as { invoke: (a: object) => Promise<unknown> }).invoke({ label: 'x' }),
    ).rejects.toThrow('needs a client: mount <ValetProvider');
    setActionInvoker((ref, args, options) => client.invokeAction(ref as never, args as never, options));
    try {
      expect(
        await (countRun as unknown as { invoke: (a: object) => Promise<unknown> }).invoke({ label: 'via-ref' }),
      ).toEqual({ label: 'via-ref' });
    } finally {
      setActionInvoker(null);
    }
  });
});

describe('a dropped connection', async () => {
  // A server that accepts and hangs up: every request fails mid-flight.
  const hangUp = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => hangUp.listen(0, '127.0.0.1', resolve));
  afterAll(() => hangUp.close());
  const url = `http://127.0.0.1:${(hangUp.address() as AddressInfo).port}`;
  const client = new ValetClient(url, {
    WebSocket: WebSocket as never,
    actionRetries: { attempts: 3, baseDelayMs: 5 },
  });
  afterAll(() => client.close());

  it('fails an action that is not safeToRetry at once, saying it may have run', async () => {
    await expect(client.invokeAction(failing, { label: 'x' })).rejects.toMatchObject({
      code: 'connection_lost',
      message: expect.stringContaining('it may or may not have run, and it is not safeToRetry, so it was not retried'),
    });
  });

  it('retries a safeToRetry action, then reports the lost connection', async () => {
    await expect(client.invokeAction(flaky, { label: 'x', failures: 0 })).rejects.toMatchObject({
      code: 'connection_lost',
      message: expect.stringContaining('actions:flaky'),
    });
  });
});
