// Convex's filter builder: `.filter(q => q.and(q.eq(q.field('author'), 'ada'), q.gt(q.field('n'), 3)))`
// builds an expression evaluated against each document. Values compare in Convex's total order
// (undefined < null < numbers < booleans < strings < bytes < arrays < objects), equality is deep.
import { EngineError } from '../protocol/engine-error.js';

const EXPRESSION = Symbol('valet.expression');

export interface Expression<T = unknown> {
  readonly [EXPRESSION]: true;
  /** Phantom: the value type, for the type checker. */
  readonly __type?: T;
  evaluate(doc: Record<string, unknown>): unknown;
}

type Operand = Expression | unknown;

export interface FilterBuilder {
  field(name: string): Expression;
  eq(a: Operand, b: Operand): Expression<boolean>;
  neq(a: Operand, b: Operand): Expression<boolean>;
  lt(a: Operand, b: Operand): Expression<boolean>;
  lte(a: Operand, b: Operand): Expression<boolean>;
  gt(a: Operand, b: Operand): Expression<boolean>;
  gte(a: Operand, b: Operand): Expression<boolean>;
  and(...terms: Operand[]): Expression<boolean>;
  or(...terms: Operand[]): Expression<boolean>;
  not(term: Operand): Expression<boolean>;
  add(a: Operand, b: Operand): Expression<number>;
  sub(a: Operand, b: Operand): Expression<number>;
  mul(a: Operand, b: Operand): Expression<number>;
  div(a: Operand, b: Operand): Expression<number>;
  mod(a: Operand, b: Operand): Expression<number>;
  neg(a: Operand): Expression<number>;
}

export function isExpression(value: unknown): value is Expression {
  return typeof value === 'object' && value !== null && (value as Expression)[EXPRESSION] === true;
}

function expression(evaluate: (doc: Record<string, unknown>) => unknown): Expression {
  return { [EXPRESSION]: true, evaluate };
}

const valueOf = (operand: Operand, doc: Record<string, unknown>) =>
  isExpression(operand) ? operand.evaluate(doc) : operand;

function rank(value: unknown): number {
  if (value === undefined) return 0;
  if (value === null) return 1;
  if (typeof value === 'number' || typeof value === 'bigint') return 2;
  if (typeof value === 'boolean') return 3;
  if (typeof value === 'string') return 4;
  if (value instanceof ArrayBuffer) return 5;
  if (Array.isArray(value)) return 6;
  return 7;
}

/** Convex's total order over values. */
export function compareValues(a: unknown, b: unknown): number {
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  switch (ra) {
    case 2:
    case 4:
      return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
    case 3:
      return Number(a) - Number(b);
    case 5: {
      const x = new Uint8Array(a as ArrayBuffer);
      const y = new Uint8Array(b as ArrayBuffer);
      for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
      return x.length - y.length;
    }
    case 6: {
      const x = a as unknown[];
      const y = b as unknown[];
      for (let i = 0; i < Math.min(x.length, y.length); i++) {
        const order = compareValues(x[i], y[i]);
        if (order !== 0) return order;
      }
      return x.length - y.length;
    }
    case 7: {
      const x = Object.entries(a as object).sort(([k], [l]) => (k < l ? -1 : 1));
      const y = Object.entries(b as object).sort(([k], [l]) => (k < l ? -1 : 1));
      for (let i = 0; i < Math.min(x.length, y.length); i++) {
        const order = x[i]![0] < y[i]![0] ? -1 : x[i]![0] > y[i]![0] ? 1 : compareValues(x[i]![1], y[i]![1]);
        if (order !== 0) return order;
      }
      return x.length - y.length;
    }
    default:
      return 0;
  }
}

function arithmetic(name: string, a: Operand, b: Operand, op: (x: number, y: number) => number): Expression<number> {
  return expression((doc) => {
    const x = valueOf(a, doc);
    const y = valueOf(b, doc);
    if (typeof x !== 'number' || typeof y !== 'number')
      throw new EngineError('invalid_query', `filter: q.${name} works on numbers, got ${typeof x} and ${typeof y}`);
    return op(x, y);
  }) as Expression<number>;
}

/** A builder that records whether it was used (to tell a builder filter from a plain predicate). */
export function filterBuilder(): { builder: FilterBuilder; used: () => boolean } {
  let used = false;
  const mark = <F extends (...args: any[]) => unknown>(fn: F): F =>
    ((...args: unknown[]) => {
      used = true;
      return fn(...args);
    }) as F;
  const compare = (test: (order: number) => boolean) => (a: Operand, b: Operand) =>
    expression((doc) => test(compareValues(valueOf(a, doc), valueOf(b, doc)))) as Expression<boolean>;
  const builder: FilterBuilder = {
    field: mark((name: string) => {
      if (typeof name !== 'string' || name === '')
        throw new EngineError(
          'invalid_query',
          `filter: q.field(name) takes a field name such as q.field('author'), got ${JSON.stringify(name)}`,
        );
      const path = name.split('.');
      return expression((doc) =>
        path.reduce<unknown>(
          (value, key) =>
            value !== null && typeof value === 'object' && Object.hasOwn(value, key)
              ? (value as Record<string, unknown>)[key]
              : undefined,
          doc,
        ),
      );
    }),
    eq: mark(compare((order) => order === 0)),
    neq: mark(compare((order) => order !== 0)),
    lt: mark(compare((order) => order < 0)),
    lte: mark(compare((order) => order <= 0)),
    gt: mark(compare((order) => order > 0)),
    gte: mark(compare((order) => order >= 0)),
    and: mark(
      (...terms: Operand[]) =>
        expression((doc) => terms.every((term) => valueOf(term, doc) === true)) as Expression<boolean>,
    ),
    or: mark(
      (...terms: Operand[]) =>
        expression((doc) => terms.some((term) => valueOf(term, doc) === true)) as Expression<boolean>,
    ),
    not: mark((term: Operand) => expression((doc) => valueOf(term, doc) !== true) as Expression<boolean>),
    add: mark((a: Operand, b: Operand) => arithmetic('add', a, b, (x, y) => x + y)),
    sub: mark((a: Operand, b: Operand) => arithmetic('sub', a, b, (x, y) => x - y)),
    mul: mark((a: Operand, b: Operand) => arithmetic('mul', a, b, (x, y) => x * y)),
    div: mark((a: Operand, b: Operand) => arithmetic('div', a, b, (x, y) => x / y)),
    mod: mark((a: Operand, b: Operand) => arithmetic('mod', a, b, (x, y) => x % y)),
    neg: mark((a: Operand) => arithmetic('neg', a, 0, (x) => -x)),
  };
  return { builder, used: () => used };
}

/**
 * Turns what `.filter(fn)` was given into a predicate over documents. `fn` is called once with
 * the builder: an expression back means a builder filter; an untouched builder means a plain
 * predicate `(doc) => boolean`; a touched builder without an expression is a mistake, named.
 */
export function toPredicate(fn: (arg: any) => unknown): (doc: Record<string, unknown>) => boolean {
  if (typeof fn !== 'function')
    throw new EngineError(
      'invalid_query',
      "filter: pass a function, (doc) => boolean or (q) => q.eq(q.field('name'), value)",
    );
  const probe = filterBuilder();
  let result: unknown;
  try {
    result = fn(probe.builder);
  } catch (error) {
    if (error instanceof EngineError || probe.used()) throw error;
    result = undefined;
  }
  if (isExpression(result)) return (doc) => result.evaluate(doc) === true;
  if (probe.used()) {
    throw new EngineError(
      'invalid_query',
      "filter: return the expression you build with q, e.g. .filter((q) => q.eq(q.field('author'), 'ada')); q.field(...) is not the field's value, so === or && on it do not work",
    );
  }
  return (doc) => {
    const value = fn(doc) as unknown;
    if (value instanceof Promise)
      throw new EngineError('invalid_query', 'filter: the predicate must return a boolean, not a Promise');
    return Boolean(value);
  };
}
