// The client protocol end to end, with the real server: live queries that update only when a
// write touches them, read-your-writes, a persisted queue that survives a client restart and a
// dropped connection with duplicate resends, rejected mutations, optimistic updates, convergence.
import type { OptimisticLocalStore } from '../../src/client/local-store.js';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { afterAll, describe, expect, it } from 'vitest';
import { ValetClient } from '../../src/client/index.js';
import { FileMutationStorage } from '../../src/client/node.js';
import { functionRef } from '../../src/server/index.js';
import { removeTempDirs, tempDir } from '../helpers/apps.js';
import { ManualClock } from '../helpers/engine.js';
import { freePort } from '../helpers/processes.js';
import { cuttableProxy, serveFixture } from '../helpers/sync-server.js';

afterAll(removeTempDirs);

const ref = {
  create: functionRef('users:create', 'mutation', { access: 'public' }),
  createThenFail: functionRef('users:createThenFail', 'mutation', { access: 'public' }),
  byEmail: functionRef('users:byEmail', 'query', { access: 'public' }),
  emails: functionRef('users:emails', 'query', { access: 'public' }),
  emailsSlowly: functionRef('users:emailsSlowly', 'query', { access: 'public' }),
  openAccount: functionRef('bank:open', 'mutation', { access: 'public' }),
  later: functionRef('jobs:later', 'mutation', { access: 'public' }),
  scheduledState: functionRef('jobs:scheduledState', 'query', { access: 'public' }),
  scheduledOf: functionRef('jobs:scheduledOf', 'query', { access: 'public' }),
};

const clients: ValetClient[] = [];
function client(url: string, options: ConstructorParameters<typeof ValetClient>[1] = {}) {
  const c = new ValetClient(url, { WebSocket: WebSocket as never, reconnectDelayMs: 20, ...options });
  clients.push(c);
  return c;
}
afterAll(() => clients.forEach((c) => c.close()));

/** Collects a subscription's values; `next(n)` waits until at least n arrived. */
function watch<T>(c: ValetClient, r: (typeof ref)[keyof typeof ref], args: object) {
  const values: T[] = [];
  let waiters: (() => void)[] = [];
  const stop = c.subscribe(r as never, args as never, (value) => {
    values.push(value as T);
    waiters.forEach((w) => w());
  });
  const next = (n: number) =>
    new Promise<T[]>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`only ${values.length} of ${n} updates: ${JSON.stringify(values)}`)),
        5000,
      );
      const check = () => {
        if (values.length >= n) {
          clearTimeout(timer);
          waiters = waiters.filter((w) => w !== check);
          resolve(values);
        }
      };
      waiters.push(check);
      check();
    });
  return { values, next, stop };
}

describe('live queries', async () => {
  const served = await serveFixture('engine-app');
  afterAll(() => served.stop());

  it('update on a write, and the mutation resolves only once the write is visible', async () => {
    const c = client(served.url);
    const list = watch<string[]>(c, ref.emails, {});
    await list.next(1);
    expect(list.values).toEqual([[]]);
    await c.mutation(ref.create, { email: 'ada@example.com' });
    expect(c.currentValue('users:emails', {})).toEqual(['ada@example.com']);
    expect(list.values).toEqual([[], ['ada@example.com']]);
  });

  it('re-run only what a write touches, and never re-send an unchanged result', async () => {
    const c = client(served.url);
    const bob = watch<unknown>(c, ref.byEmail, { email: 'bob@example.com' });
    const cy = watch<unknown>(c, ref.byEmail, { email: 'cy@example.com' });
    await Promise.all([bob.next(1), cy.next(1)]);
    await c.mutation(ref.create, { email: 'bob@example.com' });
    await c.mutation(ref.openAccount, { owner: 'nobody', balance: 1 });
    expect(bob.values).toEqual([null, expect.objectContaining({ email: 'bob@example.com' })]);
    expect(cy.values).toEqual([null]);
  });

  it('converge across two clients', async () => {
    const a = client(served.url);
    const b = client(served.url);
    const seenByB = watch<string[]>(b, ref.emails, {});
    await seenByB.next(1);
    await a.mutation(ref.create, { email: 'dee@example.com' });
    const values = await seenByB.next(2);
    expect(values.at(-1)).toContain('dee@example.com');
    expect(values.at(-1)).toEqual(await a.query(ref.emails, {}));
  });

  it('run again once the database is back after a re-run failed for want of it, with no write needed', async () => {
    const c = client(served.url);
    const errors: (string | undefined)[] = [];
    c.subscribe(ref.emails as never, {} as never, (_value, error) => errors.push(error?.code));
    await expect.poll(() => errors.length).toBe(1);
    served.engine.connections.faults.failNext(/FROM _valet_documents/, { times: 2 });
    await served.server.sync.refreshAll();
    await expect.poll(() => errors.at(-1)).toBe('storage_unavailable');
    // No write touches it (a failed run read nothing): it runs again on its own.
    await expect.poll(() => errors.at(-1), { timeout: 30_000 }).toBeUndefined();
    expect(errors).toEqual([undefined, 'storage_unavailable', undefined]);
  });

  it('refuse an out-of-order mutation id', async () => {
    const socket = new WebSocket(`${served.url.replace('http', 'ws')}/api/sync`);
    const messages: any[] = [];
    socket.on('message', (data) => messages.push(JSON.parse(String(data))));
    await new Promise((resolve) => socket.on('open', resolve));
    socket.send(JSON.stringify({ type: 'hello', clientId: 'raw-client' }));
    socket.send(JSON.stringify({ type: 'mutation', seq: 5, path: 'users:create', args: { email: 'x@example.com' } }));
    while (!messages.some((m) => m.type === 'mutationResult')) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(messages.find((m) => m.type === 'mutationResult')).toMatchObject({
      seq: 5,
      status: 409,
      error: { code: 'out_of_order' },
    });
    socket.close();
  });
});

describe('live queries over ctx.db.system', async () => {
  const clock = new ManualClock();
  const served = await serveFixture('engine-app', undefined, 0, { clock });
  afterAll(() => served.stop());

  it("follow a scheduled call's state as the scheduler moves it, and the table as calls are added", async () => {
    const c = client(served.url);
    const calls = watch<{ state: string }[]>(c, ref.scheduledOf, { name: 'jobs:tick' });
    await calls.next(1);
    const id = (await c.mutation(ref.later, { delayMs: 1000, job: 'live' })) as string;
    await calls.next(2);
    const state = watch<{ state: { kind: string } }>(c, ref.scheduledState, { id });
    expect((await state.next(1)).at(-1)?.state).toEqual({ kind: 'pending' });
    clock.advance(1000);
    await served.engine.scheduled.round();
    // Running, then done: each is a write the live queries hear (running may be passed over when
    // both commit before the re-run).
    await expect.poll(() => state.values.at(-1)?.state.kind).toBe('success');
    expect(state.values.map((call) => call.state.kind).filter((kind) => kind !== 'inProgress')).toEqual([
      'pending',
      'success',
    ]);
    await expect.poll(() => calls.values.at(-1)?.map((call) => call.state)).toEqual(['success']);
  });
});

describe('the offline queue', () => {
  it('survives a client restart and a dropped connection, applying each mutation once and in order', async () => {
    const storageFile = join(tempDir(), 'queue.json');
    const offlinePort = await freePort(); // nothing listens here: the first client is offline
    const offline = client(`http://127.0.0.1:${offlinePort}`, { storage: new FileMutationStorage(storageFile) });
    const results = [
      offline.mutation(ref.create, { email: 'q1@example.com' }),
      offline.mutation(ref.createThenFail, { email: 'q2@example.com' }),
      offline.mutation(ref.create, { email: 'q3@example.com' }),
    ];
    results.forEach((r) => r.catch(() => undefined));
    // All three are on disk before the process "exits".
    const onDisk = async () => ((await new FileMutationStorage(storageFile).load())?.pending ?? []).map((m) => m.path);
    await expect
      .poll(onDisk, { timeout: 30_000, interval: 10 })
      .toEqual(['users:create', 'users:createThenFail', 'users:create']);
    expect(offline.pendingMutations).toBe(3);
    offline.close(); // the process "exits" with three mutations queued on disk

    const served = await serveFixture('engine-app');
    const proxy = await cuttableProxy(served.url);
    let cut = false;
    // The server applies the first mutation, then the connection drops before its reply arrives.
    proxy.onServerMessage = (message) =>
      message.type === 'mutationResult' && !cut ? ((cut = true), 'cut') : 'forward';
    const restarted = client(proxy.url, { storage: new FileMutationStorage(storageFile) });
    expect(await restarted.clientId()).toBe(await new FileMutationStorage(storageFile).load().then((s) => s!.clientId));
    const settled = new Promise<void>((resolve) => restarted.onPendingChange((n) => n === 0 && resolve()));
    await settled;
    expect(cut).toBe(true);

    const emails = await (
      await fetch(`${served.url}/api/query`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ path: 'users:emails', args: {} }),
      })
    ).json();
    expect(emails).toEqual({ value: ['q1@example.com', 'q3@example.com'] });
    const clientId = await restarted.clientId();
    expect(
      await served.engine.connections.autoCommit.sql.get(
        'SELECT last_seq FROM _valet_sync_clients WHERE client_id = ?',
        [clientId],
      ),
    ).toEqual({ last_seq: 3 });

    // A server restart keeps the per-client state: a resend of an applied id is a duplicate.
    const app = served.app;
    restarted.close();
    await proxy.close();
    await served.stop();
    const again = await serveFixture('engine-app', app);
    const socket = new WebSocket(`${again.url.replace('http', 'ws')}/api/sync`);
    const messages: any[] = [];
    socket.on('message', (data) => messages.push(JSON.parse(String(data))));
    await new Promise((resolve) => socket.on('open', resolve));
    socket.send(JSON.stringify({ type: 'hello', clientId }));
    socket.send(JSON.stringify({ type: 'mutation', seq: 3, path: 'users:create', args: { email: 'q3@example.com' } }));
    while (!messages.some((m) => m.type === 'mutationResult')) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(messages[0]).toEqual({ type: 'welcome', lastSeq: 3 });
    expect(messages.find((m) => m.type === 'mutationResult')).toMatchObject({ seq: 3, status: 200 });
    expect(
      (
        (await again.engine.connections.autoCommit.sql.get(
          "SELECT COUNT(*) AS n FROM _valet_documents WHERE tbl = 'users'",
        )) as { n: number }
      ).n,
    ).toBe(2);
    socket.close();
    await again.stop();
  });

  it('keeps a mutation through transient 503s and resends it under its number, then the rest in order', async () => {
    const served = await serveFixture('engine-app');
    try {
      const c = client(served.url, { mutationRetryDelayMs: 20 });
      await c.clientId();
      // The first mutation's write meets the database down, twice; the four after it arrive meanwhile.
      served.engine.connections.faults.failNext('INSERT INTO _valet_documents', { times: 2 });
      const emails = ['t0', 't1', 't2', 't3', 't4'].map((name) => `${name}@example.com`);
      const results = await Promise.all(emails.map((email) => c.mutation(ref.create as never, { email } as never)));
      expect(results).toHaveLength(5);
      expect(served.engine.connections.faults.fired).toBe(2);
      const stored = await (
        await fetch(`${served.url}/api/query`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ path: 'users:emails', args: {} }),
        })
      ).json();
      expect(stored).toEqual({ value: emails });
      expect(c.pendingMutations).toBe(0);
    } finally {
      await served.stop();
    }
  });

  it('sends the queue again when a mutation goes unanswered, and applies it once', async () => {
    const served = await serveFixture('engine-app');
    const proxy = await cuttableProxy(served.url);
    try {
      let dropped = 0;
      // The first mutation frame is lost on the way; the socket stays open and says nothing.
      proxy.onClientMessage = (message) =>
        message.type === 'mutation' && dropped === 0 ? (dropped++, 'drop') : 'forward';
      const c = client(proxy.url, { mutationTimeoutMs: 100 });
      expect(await c.mutation(ref.create as never, { email: 'unanswered@example.com' } as never)).toEqual(
        expect.any(String),
      );
      expect(dropped).toBe(1);
      const stored = await (
        await fetch(`${served.url}/api/query`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ path: 'users:emails', args: {} }),
        })
      ).json();
      expect(stored).toEqual({ value: ['unanswered@example.com'] });
    } finally {
      await proxy.close();
      await served.stop();
    }
  });

  it('tells onMutationError of a refused mutation, and the queue moves on', async () => {
    const served = await serveFixture('engine-app');
    try {
      const refused: [string, string][] = [];
      const c = client(served.url, { onMutationError: (error, mutation) => refused.push([error.code, mutation.path]) });
      const failing = c.mutation(ref.createThenFail as never, { email: 'refused@example.com' } as never);
      const after = c.mutation(ref.create as never, { email: 'after-refusal@example.com' } as never);
      await expect(failing).rejects.toMatchObject({ code: 'application_error' });
      expect(await after).toEqual(expect.any(String));
      expect(refused).toEqual([['application_error', 'users:createThenFail']]);
    } finally {
      await served.stop();
    }
  });

  it('rolls back only the optimistic update of a rejected mutation, and rejects its promise', async () => {
    const served = await serveFixture('engine-app');
    try {
      const c = client(served.url);
      const list = watch<string[]>(c, ref.emails, {});
      await list.next(1);
      const add = (email: string) => (store: OptimisticLocalStore) =>
        store.setQuery(ref.emails, {}, [
          ...((store.getQuery(ref.emails, {}) as unknown as string[] | undefined) ?? []),
          email,
        ] as never);
      const ok = c.mutation(ref.create, { email: 'o1@example.com' }, { optimisticUpdate: add('o1@example.com') });
      const bad = c.mutation(
        ref.createThenFail,
        { email: 'o2@example.com' },
        { optimisticUpdate: add('o2@example.com') },
      );
      expect(c.currentValue('users:emails', {})).toEqual(['o1@example.com', 'o2@example.com']);
      await ok;
      await expect(bad).rejects.toMatchObject({
        code: 'application_error',
        message: 'changed my mind',
        data: { email: 'o2@example.com' },
      });
      expect(c.currentValue('users:emails', {})).toEqual(['o1@example.com']);
      expect(c.pendingMutations).toBe(0);
    } finally {
      await served.stop();
    }
  });
});

describe('live queries under a burst of writes', async () => {
  const served = await serveFixture('engine-app');
  afterAll(() => served.stop());

  it('catch up with writes committed while a re-run was in flight', async () => {
    const c = client(served.url);
    const emails = watch<string[]>(c, ref.emails, {});
    await emails.next(1);
    // Plain HTTP mutations, back to back: each commit lands while the previous one's re-run may still run.
    for (let i = 0; i < 40; i++) {
      await fetch(`${served.url}/api/mutation`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ path: 'users:create', args: { email: `burst-${i}@example.com` } }),
      });
    }
    await expect.poll(() => emails.values.at(-1)?.includes('burst-39@example.com'), { timeout: 30_000 }).toBe(true);
    emails.stop();
  });

  it("catch up with a write committed while a new subscription's first run was in flight", async () => {
    const c = client(served.url);
    // The first run reads, then holds; the write commits in between, after what it read.
    const shared = globalThis as { holdNextRead?: boolean; heldRead?: () => void };
    shared.holdNextRead = true;
    shared.heldRead = undefined;
    const slow = watch<string[]>(c, ref.emailsSlowly, { ms: 0, hold: true });
    await expect.poll(() => shared.heldRead !== undefined, { timeout: 30_000, interval: 10 }).toBe(true);
    await fetch(`${served.url}/api/mutation`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ path: 'users:create', args: { email: 'during-first-run@example.com' } }),
    });
    // The first run answers what it read (without the new email); the write's notice re-runs it.
    shared.heldRead!();
    await expect
      .poll(() => slow.values.at(-1)?.includes('during-first-run@example.com'), { timeout: 30_000 })
      .toBe(true);
    // Its answers arrived in order: the one without the write first, never after.
    expect(slow.values.map((v) => v.includes('during-first-run@example.com'))).toEqual([false, true]);
    slow.stop();
  });
});
