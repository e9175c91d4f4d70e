// /api/sync under abuse, against the real server: a client id belongs to the caller who used it,
// the upgrade passes the Host and Origin checks, and a client that stops reading is cut off before
// the server's memory grows with what it cannot send.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { WebSocket } from 'ws';
import { afterAll, describe, expect, it } from 'vitest';
import { devAuthConfig } from '../../src/runtime/auth/config.js';
import { DEV_AUDIENCE, DEV_ISSUER, loadOrCreateDevKey, signDevToken } from '../../src/project/keys.js';
import { SYNC_CLOSE } from '../../src/protocol/sync.js';
import { removeTempDirs, tempDir } from '../helpers/apps.js';
import { connectRawSync } from '../helpers/sync-client.js';
import { serveFixture } from '../helpers/sync-server.js';

afterAll(removeTempDirs);

const keys = tempDir();
const auth = devAuthConfig((await loadOrCreateDevKey(keys)).publicJwk, DEV_ISSUER, DEV_AUDIENCE, 'test key');
const tokenFor = (user: string) => signDevToken(keys, user);

const connect = (url: string, headers: Record<string, string> = {}) => connectRawSync(url, { headers });

describe('a sync client id', async () => {
  const served = await serveFixture('engine-app', undefined, 0, { auth });
  afterAll(() => served.stop());

  it('belongs to the caller who used it: another caller can neither read its results nor use up its numbers', async () => {
    const ada = await connect(served.url);
    ada.send({ type: 'hello', clientId: 'shared-client', token: await tokenFor('ada') });
    expect(await ada.next((m) => m.type === 'welcome')).toEqual({ type: 'welcome', lastSeq: 0 });
    ada.send({ type: 'mutation', seq: 1, path: 'users:create', args: { email: 'ada@example.com' } });
    const adaResult = await ada.next((m) => m.type === 'mutationResult');
    expect(adaResult).toMatchObject({ seq: 1, status: 200 });

    for (const token of [null, await tokenFor('mallory')]) {
      const other = await connect(served.url);
      other.send({ type: 'hello', clientId: 'shared-client', token });
      expect(await other.next((m) => m.type === 'welcome')).toEqual({ type: 'welcome', lastSeq: 0 });
      // Resending seq 1 is not a duplicate of ada's: it runs as this caller's own first mutation.
      other.send({
        type: 'mutation',
        seq: 1,
        path: 'users:create',
        args: { email: `other-${token ? 'user' : 'anon'}@example.com` },
      });
      const result = await other.next((m) => m.type === 'mutationResult');
      expect(result.status).toBe(200);
      expect(result.value).not.toBe(adaResult.value);
      other.socket.close();
    }

    // ada's sequence is untouched: seq 2 is next, and seq 1 still answers with ada's result.
    const again = await connect(served.url);
    again.send({ type: 'hello', clientId: 'shared-client', token: await tokenFor('ada') });
    expect(await again.next((m) => m.type === 'welcome')).toEqual({ type: 'welcome', lastSeq: 1 });
    again.send({ type: 'mutation', seq: 1, path: 'users:create', args: { email: 'ada@example.com' } });
    expect(await again.next((m) => m.type === 'mutationResult')).toMatchObject({ seq: 1, value: adaResult.value });
    again.socket.close();
    ada.socket.close();
  });

  it('says why a token was refused instead of dropping it silently', async () => {
    const client = await connect(served.url);
    client.send({ type: 'hello', clientId: 'c-bad-token', token: 'not-a-jwt' });
    expect(await client.next((m) => m.type === 'authError')).toMatchObject({ error: { code: 'token_malformed' } });
    expect(await client.next((m) => m.type === 'welcome')).toEqual({ type: 'welcome', lastSeq: 0 });
    client.send({ type: 'nonsense' });
    expect(await client.next((m) => m.type === 'error')).toMatchObject({ error: { code: 'invalid_request' } });
    client.socket.close();
  });
});

describe('the WebSocket upgrade', async () => {
  const served = await serveFixture('engine-app');
  afterAll(() => served.stop());
  const refusal = (headers: Record<string, string>) =>
    new Promise<number>((resolve) => {
      const socket = new WebSocket(`${served.url.replace(/^http/, 'ws')}/api/sync`, { headers });
      socket.on('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0));
      socket.on('open', () => {
        socket.close();
        resolve(101);
      });
      socket.on('error', () => undefined);
    });

  it('refuses another origin and a rebinding Host with 403', async () => {
    expect(await refusal({ origin: 'https://evil.example' })).toBe(403);
    expect(await refusal({ host: 'evil.example:3210' })).toBe(403);
    expect(await refusal({ origin: 'null' })).toBe(403);
  });

  it('lets a client without an Origin (Node) in', async () => {
    expect(await refusal({})).toBe(101);
  });
});

describe('a client that stops reading', async () => {
  const served = await serveFixture('engine-app', undefined, 0, {}, { maxBufferedBytes: 256 * 1024 });
  afterAll(() => served.stop());
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const heldMemory = () => {
    gc();
    const usage = process.memoryUsage();
    return usage.heapUsed + usage.external + usage.arrayBuffers;
  };

  it('is closed with the documented code once its buffer is full, and the server lets go of what it held', async () => {
    const before = heldMemory();
    const slow = await connect(served.url);
    slow.send({ type: 'hello', clientId: 'slow-reader' });
    await slow.next((m) => m.type === 'welcome');
    slow.send({ type: 'subscribe', id: 'labels', path: 'faults:labels', args: {} });
    await slow.next((m) => m.type === 'update');
    const closed = new Promise<number>((resolve) => slow.socket.once('close', (code) => resolve(code)));
    (slow.socket as unknown as { _socket: { pause(): void } })._socket.pause();

    // A bounded number of writes, each re-sending the whole (growing) list: ~60 MB if buffered.
    for (let i = 0; i < 120; i++) {
      await served.engine.call({
        kind: 'mutation',
        path: 'faults:bigInsert',
        args: { kilobytes: 8 },
        invoker: { type: 'anonymous' },
        external: true,
      });
      await served.server.sync.refreshAll();
    }
    await expect.poll(() => served.server.sync.connections, { timeout: 30_000 }).toBe(0);
    (slow.socket as unknown as { _socket: { resume(): void } })._socket.resume();
    expect(await closed).toBe(SYNC_CLOSE.slowConsumer);
    // Once the work in flight for it is done (on a loaded machine, a flush may still hold a result).
    await expect.poll(() => heldMemory() - before, { timeout: 30_000 }).toBeLessThan(16 * 1024 * 1024);
  });
});
