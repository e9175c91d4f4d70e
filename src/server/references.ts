// Function references: what `api.users.get` is. Generated code builds them with `functionRef`;
// at runtime a reference carries its canonical path and the options the client needs to know
// (kind, access, retry and retention policy) without loading the server modules.
import type { Access, FunctionKind } from './functions.js';

export interface FunctionReference<
  Kind extends FunctionKind = FunctionKind,
  A extends Access = Access,
  Args = any,
  Returns = any,
> {
  /** Canonical form used on the wire and by the CLI: `users:get`, `admin/users:ban`. */
  readonly path: string;
  readonly kind: Kind;
  readonly access: A;
  readonly safeToRetry: boolean;
  readonly sensitive: boolean;
  /** Phantom: argument and return types, for typed clients. */
  readonly __types?: { args: Args; returns: Returns };
}

export interface ActionCallOptions {
  /** Reuse a key to make retries (say, after a reload) deduplicate against the first call. */
  idempotencyKey?: string;
}

/** An action reference: once a <ValetProvider> is mounted, `invoke` calls it from anywhere. */
export interface ActionReference<A extends Access = Access, Args = any, Returns = any>
  extends FunctionReference<'action', A, Args, Returns> {
  invoke(args: Args, options?: ActionCallOptions): Promise<Returns>;
}

export type AnyFunctionReference = FunctionReference<FunctionKind, Access, any, any>;

type ActionInvoker = (ref: AnyFunctionReference, args: unknown, options?: ActionCallOptions) => Promise<unknown>;
let actionInvoker: ActionInvoker | null = null;

/** Set by the React provider (or by hand) so that `api.x.y.invoke(...)` has a client to go through. */
export function setActionInvoker(invoker: ActionInvoker | null): void {
  actionInvoker = invoker;
}
export type ArgsOfRef<Ref extends AnyFunctionReference> = NonNullable<Ref['__types']>['args'];

/**
 * The args of a call, as a rest parameter: optional when the function takes none or only optional
 * ones (`useQuery(api.messages.list)`), required otherwise. Convex's OptionalRestArgs.
 */
export type OptionalArgs<Ref extends AnyFunctionReference> =
  {} extends ArgsOfRef<Ref> ? [args?: ArgsOfRef<Ref>] : [args: ArgsOfRef<Ref>];

/** The same, followed by an optional options object. */
export type OptionalArgsAnd<Ref extends AnyFunctionReference, Options> =
  {} extends ArgsOfRef<Ref> ? [args?: ArgsOfRef<Ref>, options?: Options] : [args: ArgsOfRef<Ref>, options?: Options];
export type ReturnsOfRef<Ref extends AnyFunctionReference> = NonNullable<Ref['__types']>['returns'];

export interface FunctionRefOptions {
  access: Access;
  safeToRetry?: boolean;
  sensitive?: boolean;
}

/** A reference by path; typed by its kind, so a mutation's reference fits where a mutation is expected. */
export function functionRef<Kind extends FunctionKind>(
  path: string,
  kind: Kind,
  options: FunctionRefOptions,
): FunctionReference<Kind, Access, any, any> {
  const ref: FunctionReference<Kind, Access, any, any> = {
    path,
    kind,
    access: options.access,
    safeToRetry: options.safeToRetry ?? false,
    sensitive: options.sensitive ?? false,
  };
  // A reference of unknown kind (see moduleReferences) may be an action, so it can be invoked too.
  if (kind === 'action' || kind === undefined) {
    // Not enumerable: a reference still compares and serialises as plain data.
    Object.defineProperty(ref, 'invoke', {
      value: (args: unknown, callOptions?: ActionCallOptions) => {
        if (!actionInvoker)
          return Promise.reject(new Error(`${path}.invoke() needs a client: mount <ValetProvider client={...}> first`));
        return actionInvoker(ref as AnyFunctionReference, args, callOptions);
      },
    });
  }
  return Object.freeze(ref);
}

/** Names a module reference never answers: probes by promises, JSON, test matchers and React. */
const NOT_FUNCTION_NAMES = new Set(['then', 'toJSON', 'asymmetricMatch', 'nodeType', 'tagName', 'constructor']);

/**
 * The references of one module: the ones codegen found (with their options), and — like Convex's
 * `anyApi` — a reference by name for any other export, so a function made by a wrapper codegen
 * cannot read is still `api.module.name`. The generated `Api` type says which names exist; such a
 * reference knows its path only (its kind is looked up where it is called, and a client treats it
 * as not safeToRetry).
 */
export function moduleReferences<Known extends object>(modulePath: string, known: Known): Known {
  const byName = new Map<string, AnyFunctionReference>();
  return new Proxy(known, {
    get(target, name, receiver) {
      if (
        typeof name !== 'string' ||
        name in target ||
        NOT_FUNCTION_NAMES.has(name) ||
        !/^[A-Za-z_$][\w$]*$/.test(name)
      )
        return Reflect.get(target, name, receiver);
      if (name.startsWith('$$') || name.startsWith('__')) return undefined;
      let ref = byName.get(name);
      if (!ref) {
        // Kind and access unknown here: the server looks the function up by path.
        ref = functionRef(`${modulePath}:${name}`, undefined as unknown as FunctionKind, {
          access: undefined as unknown as Access,
        });
        byName.set(name, ref);
      }
      return ref;
    },
  });
}

/** Splits `admin/users:ban` into its module path and export name. */
export function parseFunctionPath(path: string): { module: string; name: string } | null {
  const match = /^([\w$-]+(?:\/[\w$-]+)*):([A-Za-z_$][\w$]*)$/.exec(path);
  return match ? { module: match[1]!, name: match[2]! } : null;
}
