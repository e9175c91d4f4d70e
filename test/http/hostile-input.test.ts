// The red-team corpus of inputs, run on both backends (vitest.config.ts BOTH_BACKENDS): every
// row must get the same answer from SQLite and PostgreSQL, and no row may be a 500. Text that
// PostgreSQL cannot hold (U+0000, a lone UTF-16 surrogate) is refused at the door on both, naming
// where it was; text it can hold comes back exactly as written, fields in the order written.
import { WebSocket } from 'ws';
import { afterAll, describe, expect, it } from 'vitest';
import { requestInProcess } from '../../src/http/handler.js';
import { accessPolicyFrom } from '../../src/http/security.js';
import type { HttpContext } from '../../src/http/types.js';
import { removeTempDirs } from '../helpers/apps.js';
import { engineFor } from '../helpers/engine.js';
import { connectRawSync } from '../helpers/sync-client.js';
import { serveFixture } from '../helpers/sync-server.js';

afterAll(removeTempDirs);

const ADMIN_KEY = 'valet_admin_hostile';
const { engine } = await engineFor('engine-app');
afterAll(() => engine.close());
const context: HttpContext = { engine, adminKey: ADMIN_KEY, policy: accessPolicyFrom('start', '127.0.0.1', {}) };

async function post(kind: 'query' | 'mutation' | 'action', path: string, args: unknown) {
  // JSON.stringify writes a lone surrogate as the escape \ud800: valid JSON a client may send.
  const response = await requestInProcess(context, `http://127.0.0.1:3210/api/${kind}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ path, args }),
  });
  return { status: response.status, body: (await response.json()) as any };
}

const cursorOf = (values: unknown[]) => Buffer.from(JSON.stringify(values)).toString('base64url');

interface Row {
  name: string;
  kind: 'query' | 'mutation' | 'action';
  path: string;
  args: unknown;
  status: number;
  code: string;
  /** A fragment the message must hold: the path of the bad value, or what was wrong. */
  names: string;
}

const corpus: Row[] = [
  {
    name: 'a lone surrogate in a string argument',
    kind: 'mutation',
    path: 'users:create',
    args: { email: 'a\ud800' },
    status: 400,
    code: 'invalid_args',
    names: 'email',
  },
  {
    name: 'a trailing lone low surrogate',
    kind: 'mutation',
    path: 'users:create',
    args: { email: 'x\udfff' },
    status: 400,
    code: 'invalid_args',
    names: 'surrogate',
  },
  {
    name: 'U+0000 in a string argument',
    kind: 'mutation',
    path: 'users:create',
    args: { email: 'a\u0000b' },
    status: 400,
    code: 'invalid_args',
    names: 'U+0000',
  },
  {
    name: 'U+0000 in an object key',
    kind: 'query',
    path: 'faults:echo',
    args: { value: { 'k\u0000': 1 } },
    status: 400,
    code: 'invalid_args',
    names: 'value',
  },
  {
    name: 'a lone surrogate in an object key',
    kind: 'query',
    path: 'faults:echo',
    args: { value: { ['\ud800']: 1 } },
    status: 400,
    code: 'invalid_args',
    names: 'surrogate',
  },
  {
    name: 'bad text deep in an array',
    kind: 'mutation',
    path: 'faults:insertField',
    args: { fields: { nick: ['ok', 'x\ud800'] } },
    status: 400,
    code: 'invalid_args',
    names: 'nick',
  },
  {
    name: 'bad text in an index bound from args',
    kind: 'query',
    path: 'users:byEmail',
    args: { email: '\u0000' },
    status: 400,
    code: 'invalid_args',
    names: 'email',
  },
  {
    name: 'bad text as a cursor argument',
    kind: 'query',
    path: 'users:page',
    args: { cursor: 'a\u0000', numItems: 2, order: 'asc' },
    status: 400,
    code: 'invalid_args',
    names: 'cursor',
  },
  {
    name: 'a well-formed cursor holding U+0000',
    kind: 'query',
    path: 'users:page',
    args: { cursor: cursorOf(['\u0000', 1, 'x']), numItems: 2, order: 'asc' },
    status: 400,
    code: 'invalid_cursor',
    names: 'cursor',
  },
  {
    name: 'a well-formed cursor holding a lone surrogate',
    kind: 'query',
    path: 'users:page',
    args: { cursor: cursorOf(['\ud800', 1, 'x']), numItems: 2, order: 'asc' },
    status: 400,
    code: 'invalid_cursor',
    names: 'cursor',
  },
  {
    name: "a handler's own write with U+0000",
    kind: 'mutation',
    path: 'faults:insertUnstorable',
    args: { kind: 'nul' },
    status: 400,
    code: 'invalid_document',
    names: 'email',
  },
  {
    name: "a handler's own write with a lone surrogate",
    kind: 'mutation',
    path: 'faults:insertUnstorable',
    args: { kind: 'surrogate' },
    status: 400,
    code: 'invalid_document',
    names: 'email',
  },
  {
    name: "a handler's own index bound with U+0000",
    kind: 'query',
    path: 'faults:boundUnstorable',
    args: {},
    status: 400,
    code: 'invalid_text',
    names: 'U+0000',
  },
  {
    name: 'bad text in an action argument',
    kind: 'action',
    path: 'net:get',
    args: { url: 'https://example.com/\ud800' },
    status: 400,
    code: 'invalid_args',
    names: 'url',
  },
];

describe('the hostile-input corpus', () => {
  it.each(corpus)('$name → $status $code', async (row) => {
    const { status, body } = await post(row.kind, row.path, row.args);
    expect({ status, code: body.code }).toEqual({ status: row.status, code: row.code });
    expect(body.message).toContain(row.names);
  });

  it('stores nothing for a refused write', async () => {
    const before = await post('query', 'users:emails', {});
    await post('mutation', 'faults:insertUnstorable', { kind: 'nul' });
    await post('mutation', 'users:create', { email: 'a\ud800' });
    expect(await post('query', 'users:emails', {})).toEqual(before);
  });

  it('keeps text it can hold exactly: astral characters, joiners, right-to-left, escapes, a lone-looking pair that is whole', async () => {
    const texts = [
      '😀 family: 👨‍👩‍👧',
      'עברית ← mixed',
      'e\u0301 vs é',
      '\\u0000 as six characters',
      '\ud83d\ude00',
      '\u2028\u2029',
      '\uffff\ufffe',
    ];
    for (const email of texts) {
      const created = await post('mutation', 'users:create', { email });
      expect(created.status, email).toBe(200);
      const found = await post('query', 'users:byEmail', { email });
      expect(found.body.value?.email, email).toBe(email);
    }
  });

  it('gives back fields in the order they were written', async () => {
    const created = await post('mutation', 'faults:storeShape', {
      shape: { zeta: 1, alpha: { y: 1, b: 2, a: 3 }, mid: [{ z: 1, a: 2 }], '10': 'digits', b: null },
    });
    expect(created, JSON.stringify(created.body)).toMatchObject({ status: 200 });
    const document = (await post('query', 'faults:readTick', { id: created.body.value })).body.value;
    expect(Object.keys(document).filter((key) => !key.startsWith('_'))).toEqual(['invoker', 'job']);
    // '10' leads: a JavaScript object lists integer-like keys first, whatever the storage.
    expect(Object.keys(document.invoker)).toEqual(['10', 'zeta', 'alpha', 'mid', 'b']);
    expect(Object.keys(document.invoker.alpha)).toEqual(['y', 'b', 'a']);
    expect(Object.keys(document.invoker.mid[0])).toEqual(['z', 'a']);
  });
});

describe('admin query parameters', () => {
  const admin = (path: string) =>
    requestInProcess(context, `http://127.0.0.1:3210${path}`, { headers: { 'x-valet-admin-key': ADMIN_KEY } });

  it.each([
    '/admin/invocations?function=%00',
    '/admin/invocations?function=a%00b',
    '/admin/invocations?%00=1',
    '/admin/invocations/%00',
  ])('answers %s with 400, not 500', async (path) => {
    const response = await admin(path);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({
      code: 'invalid_request',
      message: expect.stringContaining('U+0000'),
    });
  });

  it('still answers a query parameter that is merely odd', async () => {
    expect((await admin('/admin/invocations?function=%F0%9F%98%80')).status).toBe(200);
  });
});

/** A raw sync client that has said hello. */
async function connect(url: string, options: WebSocket.ClientOptions = {}) {
  const client = await connectRawSync(url, options);
  client.send({ type: 'hello', clientId: `hostile-${Math.random()}` });
  await client.next((message) => message.type === 'welcome');
  return client;
}

const updateFor = (id: string) => (message: any) => message.type === 'update' && message.id === id;

describe('the sync socket', async () => {
  const served = await serveFixture('engine-app', undefined, 0, {}, { maxSubscriptions: 3, pingIntervalMs: 200 });
  afterAll(() => served.stop());

  it('answers deeply nested subscribe args with 400 invalid_args, as HTTP does, and keeps the socket', async () => {
    // Written as text: JSON.stringify itself would overflow the test's stack at this depth.
    const deep = `${'{"next":'.repeat(5000)}"leaf"${'}'.repeat(5000)}`;
    const client = await connect(served.url);
    client.send(`{"type":"subscribe","id":"deep","path":"faults:echo","args":{"value":${deep}}}`);
    expect((await client.next(updateFor('deep'))).error).toMatchObject({ code: 'invalid_args' });
    client.send({ type: 'subscribe', id: 'nul', path: 'faults:echo', args: { value: 'a\u0000' } });
    expect((await client.next(updateFor('nul'))).error).toMatchObject({ code: 'invalid_args' });
    client.send({ type: 'subscribe', id: 'fine', path: 'faults:echo', args: { value: 'fine' } });
    expect(await client.next(updateFor('fine'))).toMatchObject({ value: 'fine' });
    client.socket.close();
  });

  it('caps live queries per socket with a clear error, and frees a place on unsubscribe', async () => {
    const client = await connect(served.url);
    for (const id of ['s1', 's2', 's3']) {
      client.send({ type: 'subscribe', id, path: 'faults:echo', args: { value: id } });
      expect(await client.next(updateFor(id))).toMatchObject({ value: id });
    }
    client.send({ type: 'subscribe', id: 's4', path: 'faults:echo', args: { value: 's4' } });
    expect((await client.next(updateFor('s4'))).error).toMatchObject({
      code: 'too_many_subscriptions',
      message: expect.stringContaining('3'),
    });
    client.send({ type: 'unsubscribe', id: 's1' });
    client.send({ type: 'subscribe', id: 's5', path: 'faults:echo', args: { value: 's5' } });
    expect(await client.next(updateFor('s5'))).toMatchObject({ value: 's5' });
    client.socket.close();
  });

  it('closes a socket whose peer stops answering pings, and keeps one that answers', async () => {
    const answering = await connect(served.url);
    const silent = await connect(served.url, { autoPong: false });
    let pings = 0;
    answering.socket.on('ping', () => pings++);
    const closed = await new Promise<number>((resolve) => silent.socket.once('close', (code) => resolve(code)));
    expect(closed).toBe(1006);
    expect(pings).toBeGreaterThan(0);
    expect(answering.socket.readyState).toBe(WebSocket.OPEN);
    answering.socket.close();
  });
});
