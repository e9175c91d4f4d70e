// What a Convex user reaches for in ctx.db, validators and actions, on the real engine.
import { afterAll, describe, expect, it } from 'vitest';
import { v } from '../../src/server/index.js';
import { removeTempDirs } from '../helpers/apps.js';
import { engineFor } from '../helpers/engine.js';

afterAll(removeTempDirs);

describe('the data API', async () => {
  const { call, value, engine } = await engineFor('engine-app');
  afterAll(() => engine.close());

  it('accepts ctx.db.get/patch/replace/delete(table, id, …) beside the id-only forms', async () => {
    expect(await value('mutation', 'parity:tableFirst', { email: 't@example.com' })).toEqual({
      patched: 'patched',
      replaced: 'replaced',
      gone: true,
    });
  });

  it("refuses a table that is not the id's, naming both", async () => {
    const id = await value('mutation', 'users:create', { email: 'mismatch@example.com' });
    expect(await call('mutation', 'parity:wrongTable', { userId: id })).toMatchObject({
      status: 500,
      body: { code: 'table_mismatch', message: `patch: "${id}" is an id of table users, not accounts` },
    });
  });

  it('checks results against `returns`, naming the path', async () => {
    expect(await value('query', 'parity:returnsChecked', { bad: false })).toEqual({ count: 3, label: null });
    expect(await call('query', 'parity:returnsChecked', { bad: true })).toMatchObject({
      status: 500,
      body: {
        code: 'invalid_return_value',
        message:
          'parity:returnsChecked returned a value that does not match its returns validator: result.count: expected number, got string',
      },
    });
  });

  it('takes `returns: v.null()` with a handler that returns nothing: null, and the write commits', async () => {
    expect(await call('mutation', 'parity:touchReturnsNull', { name: 'void-handler' })).toMatchObject({
      status: 200,
      body: { value: null },
    });
    expect(await value('query', 'parity:counterValue', { name: 'void-handler' })).toBe(1);
  });

  it('normalizes an untyped id with ctx.db.normalizeId, synchronously, as Convex does', async () => {
    const id = await value('mutation', 'users:create', { email: 'normalize@example.com' });
    expect(await value('query', 'parity:normalized', { table: 'users', id })).toEqual({ id, found: true });
    expect(await value('query', 'parity:normalized', { table: 'users', id: 'not-there' })).toEqual({
      id: 'not-there',
      found: false,
    });
    expect(await value('query', 'parity:normalized', { table: 'nosuchtable', id })).toEqual({ id: null, found: null });
    expect(await value('query', 'parity:normalized', { table: 'users', id: '' })).toEqual({ id: null, found: null });
  });

  it('hands bytes read through ctx.runQuery to the action as an ArrayBuffer', async () => {
    const id = await value('mutation', 'parity:storeBytes', { name: 'b', content: { $bytes: 'AAECAw==' } });
    expect(await value('action', 'parity:bytesThroughRunQuery', { id })).toEqual({ isArrayBuffer: true, size: 4 });
  });

  it('has the built-in indexes by_creation_time and by_id on every table', async () => {
    // The engine's own time (on PostgreSQL, the database's): what creation times are stamped with.
    const before = engine.now() - 1;
    const a = await value('mutation', 'users:create', { email: 'first@example.com' });
    await value('mutation', 'users:create', { email: 'second@example.com' });
    expect((await value('query', 'parity:byCreation', { after: before })).slice(0, 2)).toEqual([
      'second@example.com',
      'first@example.com',
    ]);
    expect(await value('query', 'parity:byId', { id: a })).toBe('first@example.com');
  });

  it("filters with Convex's builder beside plain predicates, and names a misused q.field", async () => {
    await value('mutation', 'feed:add', { channel: 'f', rank: 1, note: 'low' });
    await value('mutation', 'feed:add', { channel: 'f', rank: 5, note: 'high' });
    await value('mutation', 'feed:add', { channel: 'f', rank: 9 });
    expect((await value('query', 'feed:noted', { channel: 'f', min: 3 })).map((e: { note: string }) => e.note)).toEqual(
      ['high'],
    );
    expect(await call('query', 'parity:misusedField')).toMatchObject({
      status: 500,
      body: { code: 'invalid_query', message: expect.stringContaining("q.field(...) is not the field's value") },
    });
  });

  it('stores and returns bytes (an ArrayBuffer in handlers, {"$bytes": base64} on the wire)', async () => {
    const content = Buffer.from([7, 8, 9, 255]).toString('base64');
    const id = await value('mutation', 'parity:storeBytes', { name: 'a.bin', content: { $bytes: content } });
    expect(await value('query', 'parity:readBytes', { id })).toEqual({
      size: 4,
      first: 7,
      content: { $bytes: content },
    });
    expect(await call('mutation', 'parity:storeBytes', { name: 'b', content: 'not bytes' })).toMatchObject({
      status: 400,
      body: { message: 'args.content: expected bytes, got string' },
    });
  });

  it('has v.float64 and v.nullable, and refuses v.int64 with what to use instead', async () => {
    expect(await value('query', 'parity:floats', { x: 1.5 })).toBe(3);
    expect(v.nullable(v.string()).validate(null)).toBeNull();
    expect(v.nullable(v.string()).validate(3, 'x')).toMatchObject({ path: 'x' });
    expect(() => v.int64()).toThrow(/use v\.number\(\) for integers up to 2\^53 - 1.*or v\.string\(\)/);
  });
});

describe('ctx.runAction', async () => {
  const { call, value, engine } = await engineFor('engine-app');
  afterAll(() => engine.close());

  it('runs another action as the same caller, nesting up to 8 deep', async () => {
    expect(await value('action', 'parity:inner', { n: 3 })).toEqual({ n: 3, invoker: 'anonymous', depth: 3 });
    expect(await value('action', 'parity:inner', { n: 8 })).toMatchObject({ depth: 8 });
    expect(await call('action', 'parity:inner', { n: 9 })).toMatchObject({
      status: 500,
      body: { code: 'actions_nested_too_deep' },
    });
  });

  it('throws inside ctx.db.transaction', async () => {
    expect(await value('action', 'parity:runActionInTransaction')).toBe('not_allowed_in_transaction');
  });
});
