// ctx.db as handlers use it, through real SQLite files (and a real PostgreSQL in the postgres project).
import { afterAll, describe, expect, it } from 'vitest';
import { removeTempDirs } from '../helpers/apps.js';
import { onPostgres } from '../helpers/database.js';
import { engineFor } from '../helpers/engine.js';

afterAll(removeTempDirs);

describe('documents and queries', async () => {
  const { value, call, engine } = await engineFor('engine-app');
  const ages = [30, 10, 50, 20, 40];
  const ids: string[] = [];
  for (const age of ages) ids.push(await value('mutation', 'users:create', { email: `u${age}@example.com`, age }));
  await value('mutation', 'users:create', { email: 'noage@example.com' });

  it('gives every document an _id unique across the database and a _creationTime', async () => {
    const user = await value('query', 'users:byEmail', { email: 'u30@example.com' });
    expect(user).toEqual({ _id: ids[0], _creationTime: expect.any(Number), email: 'u30@example.com', age: 30 });
    const account = await value('mutation', 'bank:open', { owner: 'x', balance: 1 });
    expect(ids).not.toContain(account);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('reads index ranges in both orders (the plans are checked below)', async () => {
    expect(await value('query', 'users:byAge', { min: 20, max: 50, order: 'asc' })).toEqual([20, 30, 40]);
    expect(await value('query', 'users:byAge', { min: 20, max: 50, order: 'desc' })).toEqual([40, 30, 20]);
  });

  it('paginates with cursors, missing fields first in ascending order', async () => {
    const pages: string[][] = [];
    let cursor: string | null = null;
    for (;;) {
      const page: { emails: string[]; isDone: boolean; continueCursor: string } = await value('query', 'users:page', {
        cursor,
        numItems: 2,
        order: 'asc',
      });
      pages.push(page.emails);
      cursor = page.continueCursor;
      if (page.isDone) break;
    }
    expect(pages).toEqual([
      ['noage@example.com', 'u10@example.com'],
      ['u20@example.com', 'u30@example.com'],
      ['u40@example.com', 'u50@example.com'],
    ]);
    const desc = await value('query', 'users:page', { cursor: null, numItems: 4, order: 'desc' });
    expect(desc.emails).toEqual(['u50@example.com', 'u40@example.com', 'u30@example.com', 'u20@example.com']);
    const rest = await value('query', 'users:page', { cursor: desc.continueCursor, numItems: 4, order: 'desc' });
    expect(rest).toMatchObject({ emails: ['u10@example.com', 'noage@example.com'], isDone: true });
  });

  it('filters and takes, patches (undefined removes a field), deletes', async () => {
    expect(await value('query', 'users:filtered', { suffix: '0@example.com', take: 2 })).toEqual([
      'u30@example.com',
      'u10@example.com',
    ]);
    expect(await value('mutation', 'users:rename', { userId: ids[1], name: 'Ten' })).toMatchObject({
      name: 'Ten',
      age: 10,
    });
    expect(await value('mutation', 'users:rename', { userId: ids[1] })).not.toHaveProperty('name');
    await value('mutation', 'users:remove', { userId: ids[1] });
    expect(await value('query', 'users:byEmail', { email: 'u10@example.com' })).toBeNull();
  });

  it('validates every write against the schema, naming the field', async () => {
    expect(await call('mutation', 'users:badWrite')).toMatchObject({
      status: 500,
      body: {
        code: 'schema_violation',
        message:
          'users: insert of a document that does not match the schema: document.email: expected string, got number',
      },
    });
  });

  it('rolls a failed mutation back entirely, outbox row included, passing ValetError data through', async () => {
    const response = await call('mutation', 'users:createThenFail', { email: 'ghost@example.com' });
    expect(response).toMatchObject({
      status: 500,
      body: { code: 'application_error', message: 'changed my mind', data: { email: 'ghost@example.com' } },
    });
    expect(await value('query', 'users:byEmail', { email: 'ghost@example.com' })).toBeNull();
    expect(await engine.connections.autoCommit.sql.get('SELECT COUNT(*) AS n FROM _valet_outbox')).toEqual({ n: 0 });
  });
});

describe('calls', async () => {
  const { call, value } = await engineFor('engine-app');
  const user = { type: 'user', userId: 'u1', claims: { sub: 'u1' } } as const;

  it('validates args before the handler runs, naming the path', async () => {
    expect(await call('query', 'users:get', { userId: 42 }, { invoker: user })).toEqual({
      status: 400,
      body: { code: 'invalid_args', message: 'args.userId: expected id of users, got number' },
      headers: {},
    });
    const account = await value('mutation', 'bank:open', { owner: 'a', balance: 1 });
    expect(await call('query', 'users:get', { userId: account }, { invoker: user })).toMatchObject({
      status: 400,
      body: { message: 'args.userId: expected id of users, got an id that is not in table users' },
    });
    expect(await call('mutation', 'users:create', { email: 'a@b.c', extra: 1 })).toMatchObject({
      status: 400,
      body: { message: 'args.extra: unexpected field' },
    });
  });

  it('answers unknown and system functions alike from outside, and runs system functions inside', async () => {
    const unknown = await call('query', 'users:nope');
    const system = await call('query', 'users:secret');
    expect(unknown).toEqual({
      status: 404,
      body: { code: 'function_not_found', message: 'no function users:nope' },
      headers: {},
    });
    expect(system).toEqual({
      status: 404,
      body: { code: 'function_not_found', message: 'no function users:secret' },
      headers: {},
    });
    expect(
      await value('query', 'users:secret', {}, { external: false, invoker: { type: 'system', source: 'admin' } }),
    ).toBe('system only');
  });

  it('requires a signed-in caller for authenticated functions and tells handlers who called', async () => {
    // This engine verifies no tokens at all: the refusal says so (an engine with auth says unauthenticated).
    expect(await call('query', 'users:mine')).toMatchObject({ status: 401, body: { code: 'auth_not_configured' } });
    expect(await value('query', 'users:mine', {}, { invoker: user })).toBe('u1');
    expect(await value('query', 'users:whoAmI')).toEqual({ type: 'anonymous' });
  });

  it('refuses a function called at the wrong endpoint', async () => {
    expect(await call('query', 'users:create', { email: 'x@y.z' })).toMatchObject({
      status: 400,
      body: { code: 'wrong_function_kind', message: 'users:create is a mutation; call it at /api/mutation' },
    });
  });

  it('refuses return values that are not JSON', async () => {
    expect(await call('query', 'users:returnsDate')).toMatchObject({
      status: 500,
      body: {
        code: 'invalid_return_value',
        message: 'users:returnsDate returned a value that is not JSON: result.at is a Date, which JSON cannot hold',
      },
    });
  });
});

describe('query plans', async () => {
  const { engine } = await engineFor('engine-app');

  it('read equality and range lookups in index order, without sorting', async () => {
    const { QueryBuilder } = await import('../../src/storage/query.js');
    await engine.connections.inReadSnapshot(async (store) => {
      // The table is tiny, so PostgreSQL would rather scan it: the question is whether the index can serve the order.
      if (onPostgres) await store.sql.exec('SET LOCAL enable_seqscan = off');
      for (const build of [
        (q: InstanceType<typeof QueryBuilder>) => q.withIndex('by_email', (r) => r.eq('email', 'a@b.c')),
        (q: InstanceType<typeof QueryBuilder>) => q.withIndex('by_age', (r) => r.gt('age', 3)).order('desc'),
      ]) {
        // The read cache keys each statement by its text, then its parameters: the statement to explain.
        store.readCache = new Map();
        const builder = new QueryBuilder(async (read) => read(store), store.currentSchema, 'users');
        await (build(builder) as InstanceType<typeof QueryBuilder>).take(1);
        const [text, byParams] = [...store.readCache][0]!;
        const params = [...byParams.keys()][0]!;
        store.readCache = null;
        const rows = await store.sql.all<Record<string, string>>(
          `${onPostgres ? 'EXPLAIN' : 'EXPLAIN QUERY PLAN'} ${text}`,
          JSON.parse(params),
        );
        const detail = rows.map((row) => row.detail ?? row['QUERY PLAN']).join(' | ');
        expect(detail).toMatch(
          onPostgres
            ? /Index Scan (Backward )?using valet_index__users__by_(email|age)/
            : /USING INDEX valet_index__users__by_(email|age)/,
        );
        expect(detail).not.toMatch(onPostgres ? /Sort/ : /TEMP B-TREE/);
      }
    });
  });
});

describe('callQueries (live query re-runs)', async () => {
  const { engine, value } = await engineFor('engine-app');
  await value('mutation', 'users:create', { email: 'one@example.com', age: 1 });
  await value('mutation', 'users:create', { email: 'two@example.com', age: 2 });

  it('answers each query as a separate call would, sharing identical reads', async () => {
    const request = (path: string, args: object) => ({
      kind: 'query' as const,
      path,
      args,
      invoker: { type: 'anonymous' as const },
      external: true,
      trackReads: true,
    });
    const requests = [
      request('users:byEmail', { email: 'one@example.com' }),
      request('users:byEmail', { email: 'two@example.com' }),
      request('users:byEmail', { email: 'one@example.com' }),
      request('users:byAge', { min: 0, max: 10, order: 'desc' }),
      request('users:nope', {}),
    ];
    const batched = await engine.callQueries(requests);
    const single = await Promise.all(requests.map((r) => engine.call(r)));
    expect(batched.map((r) => [r.status, r.body])).toEqual(single.map((r) => [r.status, r.body]));
    expect(batched[0]!.body).toEqual({ value: expect.objectContaining({ email: 'one@example.com' }) });
    expect(batched[1]!.body).toEqual({ value: expect.objectContaining({ email: 'two@example.com' }) });
    expect(batched[0]!.reads).toEqual([
      { kind: 'range', table: 'users', bounds: [{ op: 'eq', field: 'email', value: 'one@example.com' }] },
    ]);
  });
});
