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
  if (kind === 'action') {
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

/** Splits `admin/users:ban` into its module path and export name. */
export function parseFunctionPath(path: string): { module: string; name: string } | null {
  const match = /^([\w$-]+(?:\/[\w$-]+)*):([A-Za-z_$][\w$]*)$/.exec(path);
  return match ? { module: match[1]!, name: match[2]! } : null;
}
