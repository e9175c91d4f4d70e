// valet/testing driving the other fixture apps, as their own test suites would.
import { afterAll, describe, expect, it } from 'vitest';
import { user, valetTest } from '../../src/testing/index.js';
import { fixtureApp, removeTempDirs, valet } from '../helpers/apps.js';

afterAll(removeTempDirs);

describe('the ported Convex pagination demo', () => {
  const app = fixtureApp('pagination-app', []);
  expect(valet(['codegen'], app).code).toBe(0);

  it('pages, filters with the builder and transforms pages as its queries say', async () => {
    const t = await valetTest({ appDir: app });
    for (let i = 1; i <= 7; i++) await t.mutation('messages:send', { body: `m${i}`, author: i % 2 ? 'Alex' : 'Sam' });
    const first = (await t.query('messages:list', { paginationOpts: { cursor: null, numItems: 3 } })) as {
      page: { body: string }[];
      isDone: boolean;
      continueCursor: string;
    };
    expect(first.page.map((m) => m.body)).toEqual(['m7', 'm6', 'm5']);
    const second = (await t.query('messages:list', {
      paginationOpts: { cursor: first.continueCursor, numItems: 10 },
    })) as { page: { body: string }[]; isDone: boolean };
    expect(second.page.map((m) => m.body)).toEqual(['m4', 'm3', 'm2', 'm1']);
    expect(second.isDone).toBe(true);
    const alex = (await t.query('messages:listWithExtraArg', {
      author: 'Alex',
      paginationOpts: { cursor: null, numItems: 10 },
    })) as { page: { body: string }[] };
    expect(alex.page.map((m) => m.body)).toEqual(['m7', 'm5', 'm3', 'm1']);
    const shouted = (await t.query('messages:listWithTransformation', {
      paginationOpts: { cursor: null, numItems: 1 },
    })) as { page: unknown[] };
    expect(shouted.page).toEqual([{ author: 'A', body: 'M7' }]);
    await t.close();
  });
});

describe('the codegen fixture (aliases, re-exports, default exports, nested modules)', () => {
  const app = fixtureApp('codegen-app', []);
  expect(valet(['codegen'], app).code).toBe(0);

  it('serves what codegen lists, with the access rules it declares', async () => {
    const t = await valetTest({ appDir: app });
    const id = await t.as(user('ada')).mutation('users:create', { email: 'ada@example.com' });
    await expect(t.mutation('users:create', { email: 'x@example.com' })).rejects.toMatchObject({
      code: 'unauthenticated',
    });
    await expect(t.as(user('ada')).mutation('admin/users:ban', { userId: id })).rejects.toMatchObject({
      code: 'function_not_found',
    });
    await t.asSystem().mutation('admin/users:ban', { userId: id });
    expect(await t.run(async (ctx) => (await ctx.db.get(id)).banned)).toBe(true);
    expect(await t.as(user('ada')).action('admin/users:rotateSecret', {}, { idempotencyKey: 'r1' })).toEqual({
      secretIssued: true,
    });
    await expect(
      t.as(user('ada')).action('admin/users:rotateSecret', {}, { idempotencyKey: 'r1' }),
    ).rejects.toMatchObject({ code: 'result_not_retained' });
    await t.close();
  });
});
