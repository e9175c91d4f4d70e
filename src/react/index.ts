// `valet/react`: the provider and hooks. The generated `_generated/valet/react` re-exports them
// typed for the app. Plain createElement (no JSX) so it builds with the rest of the package.
import {
  createContext,
  createElement,
  Fragment,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useRef,
  useState,
} from 'react';
import type { ReactNode } from 'react';
import type { AuthState, FetchToken } from '../client/auth.js';
import { valetAuthOf } from '../client/valet-auth.js';
import type { AuthProviderInfo } from '../client/valet-auth.js';
import type { PaginatedItem, ValetClient } from '../client/valet-client.js';
import type { PaginatedState } from '../client/paginated.js';
import type { ValetClientError } from '../client/errors.js';
import type { OptimisticUpdate } from '../client/local-store.js';
import type {
  ActionCallOptions,
  ArgsOfRef,
  FunctionReference,
  OptionalArgs,
  OptionalArgsAnd,
  ReturnsOfRef,
} from '../server/references.js';
import { setActionInvoker } from '../server/references.js';
import { pushUnsupportedReason, registerPush } from '../client/push.js';
import type { PushRegistration, RegisterPushOptions } from '../client/push.js';

const ClientContext = createContext<ValetClient | null>(null);

/** Makes `client` available to the hooks, and to `api.x.y.invoke(...)` anywhere in the app. */
export function ValetProvider({ client, children }: { client: ValetClient; children?: ReactNode }) {
  useEffect(() => {
    setActionInvoker((ref, args, options) => client.invokeAction(ref as never, args as never, options));
    return () => setActionInvoker(null);
  }, [client]);
  // A valet/auth session kept from before (a reload) signs the client in again.
  useEffect(() => {
    valetAuthOf(client);
  }, [client]);
  return createElement(ClientContext.Provider, { value: client }, children);
}

export function useValetClient(): ValetClient {
  const client = useContext(ClientContext);
  if (!client) throw new Error('Valet hooks need a <ValetProvider client={new ValetClient(url)}> above them');
  return client;
}

type Callable<Kind extends 'query' | 'mutation' | 'action'> = FunctionReference<Kind, 'public' | 'authenticated'>;

/** Args of useQuery: optional when the query needs none, or 'skip' to not subscribe (Convex's shape). */
export type QueryArgsOrSkip<Ref extends Callable<'query'>> =
  {} extends ArgsOfRef<Ref> ? [args?: ArgsOfRef<Ref> | 'skip'] : [args: ArgsOfRef<Ref> | 'skip'];

/** The live result of a query: undefined while loading; re-renders when the result changes. Throws the server's error. */
export function useQuery<Ref extends Callable<'query'>>(
  ref: Ref,
  ...rest: QueryArgsOrSkip<Ref>
): ReturnsOfRef<Ref> | undefined {
  const client = useValetClient();
  const args = rest[0];
  const key = args === 'skip' ? null : JSON.stringify(args ?? {});
  const [state, setState] = useState<{ key: string | null; value: unknown; error?: ValetClientError }>({
    key,
    value: undefined,
  });
  useEffect(() => {
    if (key === null) return;
    return client.subscribe(ref, JSON.parse(key), (value, error) => setState({ key, value, error }));
  }, [client, ref.path, key]);
  if (state.key !== key) return undefined;
  if (state.error) throw state.error;
  return state.value as ReturnsOfRef<Ref> | undefined;
}

export interface UsePaginatedQueryResult<Item> extends PaginatedState<Item> {
  /** Loads `numItems` more rows after the last loaded page (when status is CanLoadMore). */
  loadMore(numItems: number): void;
  isLoading: boolean;
}

/**
 * A live paginated list (Convex's usePaginatedQuery): the query takes `paginationOpts` and returns
 * `ctx.db.query(...).paginate(args.paginationOpts)`. Every loaded row stays live; pages never lose
 * or repeat a row as others are inserted, deleted or moved.
 */
export function usePaginatedQuery<Ref extends Callable<'query'>>(
  ref: Ref,
  args: Omit<ArgsOfRef<Ref>, 'paginationOpts'> | 'skip',
  options: { initialNumItems: number },
): UsePaginatedQueryResult<PaginatedItem<Ref>> {
  const client = useValetClient();
  const key = args === 'skip' ? null : JSON.stringify(args ?? {});
  const [state, setState] = useState<{ key: string | null; value: PaginatedState<PaginatedItem<Ref>> }>({
    key,
    value: { results: [], status: 'LoadingFirstPage' },
  });
  const [controller, setController] = useState<{ loadMore(n: number): boolean } | null>(null);
  useEffect(() => {
    if (key === null) return;
    const subscription = client.subscribePaginated(
      ref,
      JSON.parse(key),
      { initialNumItems: options.initialNumItems },
      (value) => setState({ key, value }),
    );
    setController(subscription);
    return () => subscription.unsubscribe();
  }, [client, ref.path, key, options.initialNumItems]);
  const current = state.key === key ? state.value : { results: [], status: 'LoadingFirstPage' as const };
  const loadMore = useCallback((numItems: number) => void controller?.loadMore(numItems), [controller]);
  return { ...current, loadMore, isLoading: current.status === 'LoadingFirstPage' || current.status === 'LoadingMore' };
}

export interface MutationFunction<Ref extends Callable<'mutation'>> {
  (...args: OptionalArgs<Ref>): Promise<ReturnsOfRef<Ref>>;
  /** The same mutation, applying `update` to local query results at once (rolled back if refused). */
  withOptimisticUpdate(
    update: (store: Parameters<OptimisticUpdate>[0], args: ArgsOfRef<Ref>) => void,
  ): (...args: OptionalArgs<Ref>) => Promise<ReturnsOfRef<Ref>>;
}

/** A function that queues the mutation (it survives going offline) and resolves with its result. */
export function useMutation<Ref extends Callable<'mutation'>>(ref: Ref): MutationFunction<Ref> {
  const client = useValetClient();
  return useMemo(() => {
    const send = (args: ArgsOfRef<Ref> | undefined, options: { optimisticUpdate?: OptimisticUpdate }) =>
      client.mutation(ref, ...([args ?? {}, options] as unknown as OptionalArgsAnd<Ref, typeof options>));
    const run = ((...rest: OptionalArgs<Ref>) => send(rest[0], {})) as unknown as MutationFunction<Ref>;
    run.withOptimisticUpdate =
      (update) =>
      (...rest: OptionalArgs<Ref>) => {
        const args = (rest[0] ?? {}) as ArgsOfRef<Ref>;
        return send(args, { optimisticUpdate: (store: Parameters<OptimisticUpdate>[0]) => update(store, args) });
      };
    return run;
  }, [client, ref.path]);
}

/** A function that calls the action over HTTP (never queued), with an idempotency key per call. */
export function useAction<Ref extends Callable<'action'>>(
  ref: Ref,
): (...args: OptionalArgsAnd<Ref, ActionCallOptions>) => Promise<ReturnsOfRef<Ref>> {
  const client = useValetClient();
  return useCallback((...rest) => client.invokeAction(ref, ...rest), [client, ref.path]);
}

/** How many mutations are waiting for the server (for an "offline, 2 pending" badge). */
export function usePendingMutations(): number {
  const client = useValetClient();
  const [pending, setPending] = useState(client.pendingMutations);
  useEffect(() => {
    setPending(client.pendingMutations);
    return client.onPendingChange(setPending);
  }, [client]);
  return pending;
}

/** Whether the client's WebSocket is connected. */
export function useConnectionState(): boolean {
  const client = useValetClient();
  const [connected, setConnected] = useState(client.isConnected);
  useEffect(() => {
    setConnected(client.isConnected);
    return client.onConnectionChange(setConnected);
  }, [client]);
  return connected;
}

export interface UsePushRegistrationResult {
  /** 'idle' until the first check; then the last registration's outcome ('pending' while one runs). */
  status: PushRegistration['status'] | 'idle' | 'pending';
  /** The last outcome in full (the reason it is unsupported, the error it failed with). */
  result: PushRegistration | null;
  /** Asks for permission and subscribes; call it from a click (browsers only prompt on a user gesture). */
  register: () => Promise<PushRegistration>;
}

/**
 * Push for the signed-in user: re-registers on mount when permission was given before (a
 * subscription can change), and `register()` asks for it. `mutation` stores the subscription
 * (a mutation that calls ctx.push.subscribe); pass 'skip' while nobody is signed in.
 */
export function usePushRegistration<Ref extends Parameters<typeof registerPush>[1]>(
  mutation: Ref | 'skip',
  options: RegisterPushOptions = {},
): UsePushRegistrationResult {
  const client = useValetClient();
  const [result, setResult] = useState<PushRegistration | null>(null);
  const [pending, setPending] = useState(false);
  const path = mutation === 'skip' ? null : mutation.path;
  const optionsKey = JSON.stringify(options);
  const run = useCallback(
    async (askPermission: boolean): Promise<PushRegistration> => {
      if (mutation === 'skip') return { status: 'failed', error: 'nobody is signed in' };
      setPending(true);
      try {
        const outcome = await registerPush(client, mutation, { ...options, askPermission });
        setResult(outcome);
        return outcome;
      } finally {
        setPending(false);
      }
    },
    [client, path, optionsKey],
  );
  useEffect(() => {
    if (path === null) return;
    const reason = pushUnsupportedReason();
    if (reason) setResult({ status: 'unsupported', reason });
    else if (Notification.permission === 'granted') void run(false);
    else setResult({ status: Notification.permission === 'denied' ? 'denied' : 'default' });
  }, [run, path]);
  const register = useCallback(() => run(true), [run]);
  return { status: pending ? 'pending' : (result?.status ?? 'idle'), result, register };
}

/** Whether the client is signed in: `isLoading` while a token is fetched or answered (setAuth). */
export function useValetAuth(): AuthState {
  const client = useValetClient();
  const [state, setState] = useState(client.authState);
  useEffect(() => {
    setState(client.authState);
    return client.onAuthChange(setState);
  }, [client]);
  return state;
}

/** Renders its children only once the server accepted the client's token. */
export function Authenticated({ children }: { children?: ReactNode }) {
  const { isLoading, isAuthenticated } = useValetAuth();
  return !isLoading && isAuthenticated ? createElement(Fragment, null, children) : null;
}

/** Renders its children only when no one is signed in (and nothing is loading). */
export function Unauthenticated({ children }: { children?: ReactNode }) {
  const { isLoading, isAuthenticated } = useValetAuth();
  return !isLoading && !isAuthenticated ? createElement(Fragment, null, children) : null;
}

/** Renders its children while a token is being fetched or checked. */
export function AuthLoading({ children }: { children?: ReactNode }) {
  return useValetAuth().isLoading ? createElement(Fragment, null, children) : null;
}

/** What an auth provider's hook gives ValetProviderWithAuth (Convex's shape: Clerk's and Auth0's fit in a few lines). */
export interface ProviderAuth {
  isLoading: boolean;
  isAuthenticated: boolean;
  fetchAccessToken: FetchToken;
}

/**
 * ValetProvider signed in by another auth provider: `useAuth` is a hook returning its state and a
 * token fetcher (see docs/auth.md for Clerk and Auth0). Signed in there, the client is given its
 * tokens; signed out there, the client is signed out.
 */
export function ValetProviderWithAuth({
  client,
  useAuth,
  children,
}: {
  client: ValetClient;
  useAuth: () => ProviderAuth;
  children?: ReactNode;
}) {
  const { isLoading, isAuthenticated, fetchAccessToken } = useAuth();
  // The provider may hand out a new function each render: the latest is the one used.
  const latest = useRef(fetchAccessToken);
  latest.current = fetchAccessToken;
  useEffect(() => {
    if (isLoading) return;
    if (isAuthenticated) client.setAuth((args) => latest.current(args));
    else client.clearAuth();
  }, [client, isLoading, isAuthenticated]);
  return createElement(ValetProvider, { client, children });
}

/**
 * Sign-in with the app's own valet/auth (Convex Auth's shape): `signIn('password', { flow:
 * 'signIn', email, password })` resolves `{ signingIn: true }` once signed in, `{ signingIn: false }`
 * when a code was emailed (call again with `code`); `signOut()` ends the session.
 */
export function useAuthActions(): {
  signIn: (provider: string, params?: Record<string, unknown>) => Promise<{ signingIn: boolean; redirect?: string }>;
  signOut: () => Promise<void>;
} {
  const client = useValetClient();
  return useMemo(() => {
    const auth = valetAuthOf(client);
    return { signIn: (provider, params) => auth.signIn(provider, params), signOut: () => auth.signOut() };
  }, [client]);
}

/**
 * The sign-in providers of the app's valet/auth.ts (undefined while loading), and why the last
 * OpenID Connect sign-in came back without signing in (`access_denied`, `invalid_id_token`, …).
 */
export function useAuthProviders(): { providers: AuthProviderInfo[] | undefined; redirectError: string | null } {
  const client = useValetClient();
  const [providers, setProviders] = useState<AuthProviderInfo[] | undefined>(undefined);
  useEffect(() => {
    let live = true;
    valetAuthOf(client)
      .providers()
      .then((list) => live && setProviders(list))
      .catch(() => live && setProviders([]));
    return () => {
      live = false;
    };
  }, [client]);
  return { providers, redirectError: valetAuthOf(client).redirectError };
}
