// Validators: one object serves both the type checker (through the phantom `type`) and the
// engine, which calls `validate` before a handler runs and on every schema-checked write.

/** An id of a document in `Table`; a plain string at runtime, branded for the type checker. */
export type GenericId<Table extends string> = string & { readonly __tableName: Table };

export interface ValidationError {
  /** Where the bad value sits, e.g. `args.items[2].name`. */
  path: string;
  message: string;
  /** Set when the value holds a field its validator does not declare (callers add hints for it). */
  unexpectedField?: true;
}

export interface ValidateOptions {
  /**
   * Lets the engine check that an id string belongs to a table; without it any string passes.
   * (The engine records the ids here and checks them against the database afterwards.)
   */
  isIdOf?: (table: string, id: string, path: string) => boolean;
}

/**
 * Where a value sits: spelled out (`args.items[2].name`) only when a problem is reported, since
 * every call's args and every write's fields pass through here and almost all of them are valid.
 */
export type ValuePath = string | (() => string);

export function spellPath(path: ValuePath): string {
  return typeof path === 'string' ? path : path();
}

type Check = (value: unknown, path: ValuePath, options: ValidateOptions) => ValidationError | null;

export class Validator<T = unknown, IsOptional extends boolean = false> {
  /** Phantom: carries the validated type for inference; never set at runtime. */
  declare readonly type: T;
  declare readonly isOptionalType: IsOptional;

  constructor(
    readonly kind: string,
    /** Human description used in messages: `string`, `id of users`, `"draft" | "sent"`. */
    readonly description: string,
    readonly isOptional: IsOptional,
    private readonly checkValue: Check,
    /** Child validators (object fields, array element, union members) for tools that inspect them. */
    readonly children: Readonly<Record<string, Validator<unknown, boolean>>> = {},
  ) {}

  /** Validates `value`; returns the first problem found, with its path, or null. */
  validate(value: unknown, path: ValuePath = 'value', options: ValidateOptions = {}): ValidationError | null {
    return this.checkValue(value, path, options);
  }
}

export type AnyValidator = Validator<any, boolean>;
export type PropertyValidators = Record<string, AnyValidator>;
export type Infer<V extends AnyValidator> = V['type'];

type Expand<T> = T extends infer O ? { [K in keyof O]: O[K] } : never;
type OptionalKeys<F extends PropertyValidators> = {
  [K in keyof F]: F[K] extends Validator<any, true> ? K : never;
}[keyof F];
type RequiredKeys<F extends PropertyValidators> = Exclude<keyof F, OptionalKeys<F>>;

/** The object type described by a record of validators; optional validators become `?` fields. */
export type ObjectType<F extends PropertyValidators> = Expand<
  { [K in RequiredKeys<F>]: F[K]['type'] } & { [K in OptionalKeys<F>]?: Exclude<F[K]['type'], undefined> }
>;

export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return typeof value;
}

function expected(path: ValuePath, description: string, value: unknown): ValidationError {
  return { path: spellPath(path), message: `expected ${description}, got ${describeValue(value)}` };
}

function primitive<T>(kind: string, test: (value: unknown) => boolean): Validator<T> {
  return new Validator<T>(kind, kind, false, (value, path) => (test(value) ? null : expected(path, kind, value)));
}

function propertyPath(path: ValuePath, key: string): ValuePath {
  return () => {
    const at = spellPath(path);
    return /^[A-Za-z_$][\w$]*$/.test(key) ? `${at}.${key}` : `${at}[${JSON.stringify(key)}]`;
  };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Own properties only, on both sides: a field named `constructor`, `toString` or `__proto__` is
 * neither declared by inheritance (every object "has" a constructor) nor present by inheritance.
 */
function checkFields(fields: PropertyValidators, value: unknown, path: ValuePath, options: ValidateOptions) {
  if (!isPlainObject(value)) return expected(path, 'object', value);
  for (const key of Object.keys(fields)) {
    const validator = fields[key]!;
    const fieldValue = Object.hasOwn(value, key) ? value[key] : undefined;
    if (fieldValue === undefined) {
      if (validator.isOptional) continue;
      return {
        path: spellPath(propertyPath(path, key)),
        message: `missing required field (expected ${validator.description})`,
      };
    }
    const error = validator.validate(fieldValue, propertyPath(path, key), options);
    if (error) return error;
  }
  for (const key of Object.keys(value)) {
    if (!Object.hasOwn(fields, key) && value[key] !== undefined) {
      return { path: spellPath(propertyPath(path, key)), message: 'unexpected field', unexpectedField: true as const };
    }
  }
  return null;
}

/** Validates a value against a record of validators (the shape of `args` and of table fields). */
export function validateFields(
  fields: PropertyValidators,
  value: unknown,
  path: ValuePath,
  options: ValidateOptions = {},
): ValidationError | null {
  return checkFields(fields, value, path, options);
}

export function formatValidationError(error: ValidationError): string {
  return `${error.path}: ${error.message}`;
}

function depth(path: string): number {
  return path.split(/[.[]/).length;
}

export const v = {
  string: () => primitive<string>('string', (x) => typeof x === 'string'),
  /** A finite number: JSON cannot carry NaN or Infinity. */
  number: () => primitive<number>('number', (x) => typeof x === 'number' && Number.isFinite(x)),
  boolean: () => primitive<boolean>('boolean', (x) => typeof x === 'boolean'),
  null: () => primitive<null>('null', (x) => x === null),
  any: () => new Validator<any>('any', 'any', false, () => null),
  /** Convex's name for a number: a 64-bit float, finite. */
  float64: () => primitive<number>('number', (x) => typeof x === 'number' && Number.isFinite(x)),
  /**
   * Convex's 64-bit integer (bigint) has no JSON form Valet stores: refused where it is written,
   * with what to use instead.
   */
  int64: (): Validator<never> => {
    throw new Error(
      'v.int64(): Valet stores numbers as JSON doubles and has no int64 type; use v.number() for integers up to 2^53 - 1 (Number.MAX_SAFE_INTEGER), or v.string() for larger ones (String(big) / BigInt(text))',
    );
  },
  /** Binary data: an ArrayBuffer in handlers and clients, {"$bytes": base64} on the wire and on disk. */
  bytes: () => primitive<ArrayBuffer>('bytes', (x) => x instanceof ArrayBuffer),

  id: <Table extends string>(table: Table) =>
    new Validator<GenericId<Table>>('id', `id of ${table}`, false, (value, path, options) => {
      if (typeof value !== 'string' || value.length === 0) return expected(path, `id of ${table}`, value);
      if (options.isIdOf && !options.isIdOf(table, value, spellPath(path))) {
        return { path: spellPath(path), message: `expected id of ${table}, got an id that is not in table ${table}` };
      }
      return null;
    }),

  literal: <const T extends string | number | boolean>(literal: T) =>
    new Validator<T>('literal', JSON.stringify(literal), false, (value, path) =>
      value === literal
        ? null
        : {
            path: spellPath(path),
            message: `expected ${JSON.stringify(literal)}, got ${JSON.stringify(value) ?? 'undefined'}`,
          },
    ),

  array: <E extends AnyValidator>(element: E) =>
    new Validator<E['type'][]>(
      'array',
      `array of ${element.description}`,
      false,
      (value, path, options) => {
        if (!Array.isArray(value)) return expected(path, 'array', value);
        for (let i = 0; i < value.length; i++) {
          const error = element.validate(value[i], () => `${spellPath(path)}[${i}]`, options);
          if (error) return error;
        }
        return null;
      },
      { element },
    ),

  object: <F extends PropertyValidators>(fields: F) =>
    new Validator<ObjectType<F>>(
      'object',
      'object',
      false,
      (value, path, options) => checkFields(fields, value, path, options),
      fields,
    ),

  /** The value, or null: `v.union(x, v.null())`. */
  nullable: <T>(inner: Validator<T, false>) => v.union(inner, v.null()) as Validator<T | null>,

  optional: <T>(inner: Validator<T, boolean>) =>
    new Validator<T | undefined, true>(
      'optional',
      `optional ${inner.description}`,
      true,
      (value, path, options) => (value === undefined ? null : inner.validate(value, path, options)),
      { inner },
    ),

  union: <M extends AnyValidator[]>(...members: M) => {
    const description = members.map((m) => m.description).join(' | ');
    return new Validator<M[number]['type']>(
      'union',
      description,
      false,
      (value, path, options) => {
        const errors: ValidationError[] = [];
        for (const member of members) {
          const error = member.validate(value, path, options);
          if (!error) return null;
          errors.push(error);
        }
        // When one member got further into the value than the others (say an object whose
        // shape matched but one field did not), its error is the one that helps.
        const deepest = errors.reduce((a, b) => (depth(b.path) > depth(a.path) ? b : a), errors[0]!);
        return deepest && depth(deepest.path) > depth(spellPath(path)) ? deepest : expected(path, description, value);
      },
      Object.fromEntries(members.map((m, i) => [String(i), m])),
    );
  },

  record: <K extends Validator<string, false>, V extends AnyValidator>(keys: K, values: V) =>
    new Validator<Record<K['type'], V['type']>>(
      'record',
      `record of ${values.description}`,
      false,
      (value, path, options) => {
        if (!isPlainObject(value)) return expected(path, 'object', value);
        for (const [key, item] of Object.entries(value)) {
          const keyError = keys.validate(key, () => `${spellPath(path)} key ${JSON.stringify(key)}`, options);
          if (keyError) return keyError;
          const error = values.validate(item, propertyPath(path, key), options);
          if (error) return error;
        }
        return null;
      },
      { keys, values },
    ),
};
