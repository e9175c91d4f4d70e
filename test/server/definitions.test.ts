import { describe, expect, it } from 'vitest';
import {
  cronJobs,
  defineAction,
  defineMutation,
  defineQuery,
  defineSchema,
  defineTable,
  DEFAULT_ACTION_TIMEOUT_MS,
  functionRef,
  httpAction,
  httpRouter,
  parseFunctionPath,
  v,
} from '../../src/server/index.js';

const handler = async () => null;

describe('define*', () => {
  it('fill in defaults and keep the options codegen and the engine read', () => {
    expect(defineQuery({ handler })).toMatchObject({ kind: 'query', access: 'authenticated', args: {} });
    expect(defineAction({ access: 'public', safeToRetry: true, handler })).toMatchObject({
      kind: 'action',
      access: 'public',
      safeToRetry: true,
      sensitive: false,
      timeoutMs: DEFAULT_ACTION_TIMEOUT_MS,
    });
  });

  it('refuse options that cannot work, naming them', () => {
    expect(() => defineQuery({ access: 'everyone' as 'public', handler })).toThrow(
      'defineQuery: access must be one of authenticated, public, system, got "everyone"',
    );
    expect(() => defineMutation({ safeToRetry: true, handler } as never)).toThrow(
      'defineMutation: safeToRetry applies to actions only',
    );
    expect(() => defineAction({ args: { id: 'string' as never }, handler })).toThrow(
      'defineAction: args.id must be a validator such as v.string()',
    );
    expect(() => defineAction({ timeoutMs: -1, handler })).toThrow('timeoutMs must be a positive integer');
    expect(() => defineQuery({} as never)).toThrow('defineQuery: handler must be a function');
  });
});

describe('schema', () => {
  it('records tables and their indexes', () => {
    const schema = defineSchema({ users: defineTable({ email: v.string() }).index('by_email', ['email']) });
    expect(schema.tables.users.indexes).toEqual([{ name: 'by_email', fields: ['email'] }]);
    expect(schema.options.schemaValidation).toBe(true);
  });

  it('refuses indexes over unknown fields, duplicates and reserved names', () => {
    const table = defineTable({ email: v.string() });
    expect(() => table.index('by_name', ['name' as 'email'])).toThrow(
      'index "by_name" names field "name", which the table does not declare',
    );
    expect(() => table.index('by_email', ['email']).index('by_email', ['email'])).toThrow(
      'index "by_email" is declared twice',
    );
    expect(() => defineTable({ _id: v.string() })).toThrow('reserved for system fields');
    expect(() => defineSchema({ 'my-table': table })).toThrow('table "my-table"');
  });
});

describe('httpRouter', () => {
  it('matches exact paths before the longest prefix', () => {
    const a = httpAction(async () => new Response('a'));
    const b = httpAction(async () => new Response('b'));
    const router = httpRouter()
      .route({ path: '/stripe', method: 'POST', handler: a })
      .route({ pathPrefix: '/files/', method: 'GET', handler: b });
    expect(router.lookup('POST', '/stripe')?.handler).toBe(a);
    expect(router.lookup('GET', '/files/x/y')?.handler).toBe(b);
    expect(router.lookup('GET', '/stripe')).toBeNull();
  });

  it('refuses malformed routes', () => {
    const h = httpAction(async () => new Response());
    expect(() => httpRouter().route({ path: 'stripe', method: 'POST', handler: h })).toThrow(
      'path must start with "/"',
    );
    expect(() => httpRouter().route({ pathPrefix: '/files', method: 'GET', handler: h })).toThrow(
      'pathPrefix must end with "/"',
    );
    expect(() =>
      httpRouter().route({ path: '/a', method: 'POST', handler: h }).route({ path: '/a', method: 'POST', handler: h }),
    ).toThrow('declared twice');
    expect(() => httpRouter().route({ path: '/a', method: 'POST', handler: handler as never })).toThrow('httpAction');
  });
});

describe('cronJobs', () => {
  const send = functionRef('digest:send', 'action', { access: 'system' });
  it('records cron and interval jobs with UTC as the default time zone', () => {
    const crons = cronJobs().cron('digest', '0 9 * * *', send, {}).interval('tick', { minutes: 5 }, send, {});
    expect(crons.jobs.map((j) => j.schedule)).toEqual([
      { type: 'cron', expression: '0 9 * * *', timezone: 'UTC' },
      { type: 'interval', ms: 300_000 },
    ]);
  });

  it('refuses duplicate names, bad intervals and query targets', () => {
    expect(() => cronJobs().cron('a', '0 9 * * *', send, {}).cron('a', '0 9 * * *', send, {})).toThrow(
      'declared twice',
    );
    expect(() => cronJobs().interval('a', { minutes: 0 }, send, {})).toThrow('positive number');
    expect(() => cronJobs().cron('a', 'every day', send, {})).toThrow('expected a cron expression');
    expect(() =>
      cronJobs().cron('a', '0 9 * * *', functionRef('x:y', 'query', { access: 'system' }) as never, {} as never),
    ).toThrow('mutation or an action');
  });
});

describe('function references', () => {
  it('carry their path and options, and parse back', () => {
    expect(functionRef('admin/users:ban', 'mutation', { access: 'system' })).toEqual({
      path: 'admin/users:ban',
      kind: 'mutation',
      access: 'system',
      safeToRetry: false,
      sensitive: false,
    });
    expect(parseFunctionPath('admin/users:ban')).toEqual({ module: 'admin/users', name: 'ban' });
    expect(parseFunctionPath('users')).toBeNull();
  });
});

describe('valet/server stays isomorphic', () => {
  it('imports nothing from Node, so browser bundles can include the generated api', async () => {
    const { readdirSync, readFileSync } = await import('node:fs');
    const dir = new URL('../../src/server/', import.meta.url);
    for (const name of readdirSync(dir)) {
      const source = readFileSync(new URL(name, dir), 'utf8');
      const imports = [...source.matchAll(/from '([^']+)'/g)].map((m) => m[1]);
      expect(
        imports.filter((spec) => !spec!.startsWith('./')),
        name,
      ).toEqual([]);
    }
  });
});
