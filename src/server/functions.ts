// defineQuery / defineMutation / defineAction. The returned definition is plain data plus the
// handler; the engine registers it, codegen reads the same options statically.
import type { ActionCtx, MutationCtx, QueryCtx } from './ctx.js';
import type { ActionReference, FunctionReference } from './references.js';
import type { GenericDataModel } from './schema.js';
import type { AnyValidator, Infer, ObjectType, PropertyValidators } from './values.js';
import { Validator } from './values.js';

export type FunctionKind = 'query' | 'mutation' | 'action';
export type Access = 'authenticated' | 'public' | 'system';
export const ACCESS_LEVELS: readonly Access[] = ['authenticated', 'public', 'system'];
/** Ten minutes, as the actions page promises. */
export const DEFAULT_ACTION_TIMEOUT_MS = 10 * 60 * 1000;

export interface FunctionDefinition<Kind extends FunctionKind, A extends Access, Args, Returns> {
  readonly kind: Kind;
  readonly access: A;
  readonly args: PropertyValidators;
  /** When given, every result is checked against it (a mismatch is the function's error). */
  readonly returns?: AnyValidator;
  readonly handler: (ctx: any, args: any) => unknown;
  /** Where it was defined (a stack), so a function codegen cannot see is reported at its line. */
  readonly definedAt?: string;
  /** Phantom: argument and return types. */
  readonly __types?: { args: Args; returns: Returns };
}

export interface ActionDefinition<A extends Access, Args, Returns>
  extends FunctionDefinition<'action', A, Args, Returns> {
  readonly safeToRetry: boolean;
  readonly sensitive: boolean;
  readonly timeoutMs: number;
}

export type QueryDefinition<A extends Access, Args, Returns> = FunctionDefinition<'query', A, Args, Returns>;
export type MutationDefinition<A extends Access, Args, Returns> = FunctionDefinition<'mutation', A, Args, Returns>;
export type AnyFunctionDefinition = FunctionDefinition<FunctionKind, Access, any, any>;

/** The reference type for one exported definition (used by the generated `api`). */
export type RefOf<D> =
  D extends FunctionDefinition<infer Kind, infer A, infer Args, infer Returns>
    ? Kind extends 'action'
      ? ActionReference<A, Args, Returns>
      : FunctionReference<Kind, A, Args, Returns>
    : never;

/**
 * The functions of one module, by type: every export whose type is a function definition, however
 * it was made (a wrapper, a factory, a re-export), as its reference. Convex's ApiFromModules.
 */
export type FunctionsOf<Module> = {
  [Name in keyof Module as Module[Name] extends AnyFunctionDefinition ? Name : never]: RefOf<Module[Name]>;
};

interface BaseOptions<ArgsV extends PropertyValidators, A extends Access> {
  /** Validators for the arguments; checked before the handler runs. */
  args?: ArgsV;
  /** Who may call: `authenticated` (default), `public`, or `system` (cron, scheduler, admin only). */
  access?: A;
}

export interface ActionOptions {
  /** The whole handler may be re-run after a failure or timeout under the same idempotency key. */
  safeToRetry?: boolean;
  /** Args and result are never stored; duplicates get `result_not_retained`. */
  sensitive?: boolean;
  /** Default 10 minutes. */
  timeoutMs?: number;
}

/** A handler that returns nothing returns null, so `returns: v.null()` accepts a void handler. */
type Returned<T> = null extends T ? T | undefined | void : T;
/** What a handler may return: anything (its type becomes the function's), or what `returns` says. */
type HandlerResult<R, RV> = RV extends AnyValidator ? Returned<Infer<RV>> | Promise<Returned<Infer<RV>>> : R;
/** The function's result type: the `returns` validator's, or the handler's. */
type ResultOf<R, RV> = RV extends AnyValidator ? Infer<RV> : Awaited<R>;

interface ReturnsOption<RV> {
  /** Checks every result at run time, and types it. */
  returns?: RV;
}

export type DefineQuery<DM extends GenericDataModel> = <
  const ArgsV extends PropertyValidators = {},
  const A extends Access = 'authenticated',
  R = unknown,
  RV extends AnyValidator | undefined = undefined,
>(
  definition: BaseOptions<ArgsV, A> &
    ReturnsOption<RV> & { handler: (ctx: QueryCtx<DM>, args: ObjectType<ArgsV>) => HandlerResult<R, RV> },
) => QueryDefinition<A, ObjectType<ArgsV>, ResultOf<R, RV>>;

export type DefineMutation<DM extends GenericDataModel> = <
  const ArgsV extends PropertyValidators = {},
  const A extends Access = 'authenticated',
  R = unknown,
  RV extends AnyValidator | undefined = undefined,
>(
  definition: BaseOptions<ArgsV, A> &
    ReturnsOption<RV> & { handler: (ctx: MutationCtx<DM>, args: ObjectType<ArgsV>) => HandlerResult<R, RV> },
) => MutationDefinition<A, ObjectType<ArgsV>, ResultOf<R, RV>>;

export type DefineAction<DM extends GenericDataModel> = <
  const ArgsV extends PropertyValidators = {},
  const A extends Access = 'authenticated',
  R = unknown,
  RV extends AnyValidator | undefined = undefined,
>(
  definition: BaseOptions<ArgsV, A> &
    ReturnsOption<RV> &
    ActionOptions & { handler: (ctx: ActionCtx<DM>, args: ObjectType<ArgsV>) => HandlerResult<R, RV> },
) => ActionDefinition<A, ObjectType<ArgsV>, ResultOf<R, RV>>;

type AnyOptions = BaseOptions<PropertyValidators, Access> &
  ActionOptions & { returns?: AnyValidator; handler: (ctx: any, args: any) => unknown };

function checkOptions(kind: FunctionKind, options: AnyOptions): void {
  const where = `define${kind[0]!.toUpperCase()}${kind.slice(1)}`;
  if (typeof options?.handler !== 'function') throw new TypeError(`${where}: handler must be a function`);
  if (options.access !== undefined && !ACCESS_LEVELS.includes(options.access)) {
    throw new TypeError(
      `${where}: access must be one of ${ACCESS_LEVELS.join(', ')}, got ${JSON.stringify(options.access)}`,
    );
  }
  for (const [name, validator] of Object.entries(options.args ?? {})) {
    if (!(validator instanceof Validator))
      throw new TypeError(`${where}: args.${name} must be a validator such as v.string()`);
  }
  if (options.returns !== undefined && !(options.returns instanceof Validator))
    throw new TypeError(`${where}: returns must be a validator such as v.object({ ... })`);
  if (kind !== 'action') {
    for (const key of ['safeToRetry', 'sensitive', 'timeoutMs'] as const) {
      if (options[key] !== undefined) throw new TypeError(`${where}: ${key} applies to actions only`);
    }
  }
  if (options.timeoutMs !== undefined && !(Number.isInteger(options.timeoutMs) && options.timeoutMs > 0)) {
    throw new TypeError(`${where}: timeoutMs must be a positive integer of milliseconds`);
  }
}

function define(kind: FunctionKind, options: AnyOptions): AnyFunctionDefinition {
  checkOptions(kind, options);
  const base = {
    kind,
    access: options.access ?? 'authenticated',
    args: options.args ?? {},
    returns: options.returns,
    handler: options.handler,
    definedAt: new Error().stack,
  };
  if (kind !== 'action') return Object.freeze(base);
  return Object.freeze({
    ...base,
    safeToRetry: options.safeToRetry ?? false,
    sensitive: options.sensitive ?? false,
    timeoutMs: options.timeoutMs ?? DEFAULT_ACTION_TIMEOUT_MS,
  });
}

// Untyped implementations; the generated api.ts re-exports them typed with the app's data model.
export const defineQuery: DefineQuery<GenericDataModel> = ((options: AnyOptions) => define('query', options)) as any;
export const defineMutation: DefineMutation<GenericDataModel> = ((options: AnyOptions) =>
  define('mutation', options)) as any;
export const defineAction: DefineAction<GenericDataModel> = ((options: AnyOptions) => define('action', options)) as any;

export function isFunctionDefinition(value: unknown): value is AnyFunctionDefinition {
  return (
    typeof value === 'object' &&
    value !== null &&
    ['query', 'mutation', 'action'].includes((value as AnyFunctionDefinition).kind) &&
    typeof (value as AnyFunctionDefinition).handler === 'function'
  );
}
