import { describe, expect, it } from 'vitest';
import { formatValidationError, v, validateFields } from '../../src/server/index.js';

function problem(fields: Parameters<typeof validateFields>[0], value: unknown, options = {}) {
  const error = validateFields(fields, value, 'args', options);
  return error && formatValidationError(error);
}

describe('validators at runtime', () => {
  it('accept values of the declared shape', () => {
    const fields = {
      userId: v.id('users'),
      name: v.optional(v.string()),
      age: v.number(),
      admin: v.boolean(),
      deleted: v.null(),
      status: v.union(v.literal('draft'), v.literal('sent')),
      tags: v.array(v.string()),
      meta: v.record(v.string(), v.any()),
      address: v.object({ city: v.string(), zip: v.optional(v.string()) }),
    };
    const value = {
      userId: 'u1',
      age: 3,
      admin: false,
      deleted: null,
      status: 'sent',
      tags: ['a'],
      meta: { x: [1] },
      address: { city: 'Oslo' },
    };
    expect(problem(fields, value)).toBeNull();
    expect(problem(fields, { ...value, name: 'Ada' })).toBeNull();
  });

  it('name the path and the expected type of a bad value', () => {
    expect(problem({ userId: v.id('users') }, { userId: 42 })).toBe('args.userId: expected id of users, got number');
    expect(
      problem(
        { items: v.array(v.object({ name: v.string() })) },
        { items: [{ name: 'a' }, { name: 'b' }, { name: 7 }] },
      ),
    ).toBe('args.items[2].name: expected string, got number');
    expect(problem({ meta: v.record(v.string(), v.number()) }, { meta: { 'a-b': 'x' } })).toBe(
      'args.meta["a-b"]: expected number, got string',
    );
    expect(problem({ n: v.number() }, { n: Number.NaN })).toBe('args.n: expected number, got NaN');
    expect(problem({ s: v.literal('draft') }, { s: 'sent' })).toBe('args.s: expected "draft", got "sent"');
    expect(problem({ a: v.array(v.string()) }, { a: 'x' })).toBe('args.a: expected array, got string');
  });

  it('report missing and unexpected fields', () => {
    expect(problem({ email: v.string() }, {})).toBe('args.email: missing required field (expected string)');
    expect(problem({ email: v.string() }, { email: 'a', extra: 1 })).toBe('args.extra: unexpected field');
    expect(problem({ email: v.string() }, null)).toBe('args: expected object, got null');
    expect(problem({ o: v.object({}) }, { o: new Date() })).toBe('args.o: expected object, got object');
  });

  it('explain a union by its closest member', () => {
    const shape = v.union(
      v.object({ kind: v.literal('card'), last4: v.string() }),
      v.object({ kind: v.literal('bank'), iban: v.string() }),
    );
    expect(problem({ method: shape }, { method: { kind: 'card', last4: 1234 } })).toBe(
      'args.method.last4: expected string, got number',
    );
    expect(problem({ value: v.union(v.string(), v.number()) }, { value: true })).toBe(
      'args.value: expected string | number, got boolean',
    );
  });

  it('let the engine check which table an id belongs to', () => {
    const isIdOf = (table: string, id: string) => id.startsWith(`${table}|`);
    expect(problem({ id: v.id('users') }, { id: 'users|1' }, { isIdOf })).toBeNull();
    expect(problem({ id: v.id('users') }, { id: 'posts|1' }, { isIdOf })).toBe(
      'args.id: expected id of users, got an id that is not in table users',
    );
  });
});
