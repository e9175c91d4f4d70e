// valet/react-query: Valet's live queries inside TanStack Query's cache, for apps built on it.
// `useQuery(valetQuery(api.messages.list, { channel }))` answers from the cache like any query,
// and the cache entry stays live: while a component observes it, a Valet subscription pushes every
// new result into it (so it never needs refetching: staleTime is Infinity). Mutations go through
// the client's queue (offline-safe, in order) with `valetMutation`. Only types come from
// @tanstack/react-query (an optional peer): apps without it load nothing of it.
import type { Query, QueryClient, QueryFunctionContext } from '@tanstack/react-query';
import type { ValetClient } from '../client/valet-client.js';
import type { ArgsOfRef, FunctionReference, OptionalArgs, ReturnsOfRef } from '../server/references.js';

type Callable<Kind extends 'query' | 'mutation'> = FunctionReference<Kind, 'public' | 'authenticated'>;

/** The cache key of a Valet query: its function's path and its args. */
export type ValetQueryKey = readonly ['valet', string, Record<string, unknown>];

const bridges = new WeakMap<QueryClient, ValetQueryClient>();

function isValetKey(key: readonly unknown[]): key is ValetQueryKey {
  return key[0] === 'valet' && typeof key[1] === 'string' && key.length === 3;
}

/** Connects a ValetClient to a TanStack QueryClient: valetQuery's entries are fetched and kept live through it. */
export class ValetQueryClient {
  private readonly live = new Map<string, () => void>();

  constructor(readonly client: ValetClient) {}

  /** Starts keeping valetQuery entries of `queryClient` live; returns the function that stops it. */
  connect(queryClient: QueryClient): () => void {
    bridges.set(queryClient, this);
    const stopWatching = queryClient.getQueryCache().subscribe((event) => {
      const query = event.query as Query;
      if (!isValetKey(query.queryKey)) return;
      if (event.type === 'observerAdded') this.watch(queryClient, query);
      else if (event.type === 'removed' || (event.type === 'observerRemoved' && query.getObserversCount() === 0))
        this.unwatch(query.queryHash);
    });
    return () => {
      stopWatching();
      for (const hash of [...this.live.keys()]) this.unwatch(hash);
      bridges.delete(queryClient);
    };
  }

  /** A live subscription for one cache entry, pushing each result (or error) into it. */
  private watch(queryClient: QueryClient, query: Query): void {
    if (this.live.has(query.queryHash)) return;
    const [, path, args] = query.queryKey as unknown as ValetQueryKey;
    const stop = this.client.subscribe({ path } as Callable<'query'>, args as never, (value, error) => {
      if (error) query.setState({ error, status: 'error', fetchStatus: 'idle' });
      else queryClient.setQueryData(query.queryKey, value);
    });
    this.live.set(query.queryHash, stop);
  }

  private unwatch(hash: string): void {
    this.live.get(hash)?.();
    this.live.delete(hash);
  }

  /** The first result of a query (the live subscription takes over from there). */
  fetch(key: ValetQueryKey): Promise<unknown> {
    const [, path, args] = key;
    return this.client.query({ path } as Callable<'query'>, args as never);
  }
}

/**
 * TanStack Query options for a live Valet query: `useQuery(valetQuery(api.messages.list, { channel }))`.
 * The QueryClient must be connected (`new ValetQueryClient(client).connect(queryClient)`).
 */
export function valetQuery<Ref extends Callable<'query'>>(
  ref: Ref,
  ...args: OptionalArgs<Ref>
): {
  queryKey: ValetQueryKey;
  queryFn: (context: QueryFunctionContext) => Promise<ReturnsOfRef<Ref>>;
  staleTime: number;
} {
  return {
    queryKey: ['valet', ref.path, (args[0] ?? {}) as Record<string, unknown>],
    queryFn: (context) => {
      const bridge = bridges.get(context.client);
      if (!bridge)
        throw new Error(
          'valetQuery: this QueryClient is not connected to Valet: call new ValetQueryClient(valetClient).connect(queryClient) first',
        );
      return bridge.fetch(context.queryKey as unknown as ValetQueryKey) as Promise<ReturnsOfRef<Ref>>;
    },
    // Never stale: the live subscription replaces the data whenever the server's answer changes.
    staleTime: Number.POSITIVE_INFINITY,
  };
}

/**
 * TanStack Query mutation options for a Valet mutation, sent through the client's queue (kept
 * offline, applied once and in order): `useMutation(valetMutation(client, api.messages.send))`.
 */
export function valetMutation<Ref extends Callable<'mutation'>>(
  client: ValetClient | ValetQueryClient,
  ref: Ref,
): { mutationKey: readonly ['valet', string]; mutationFn: (args: ArgsOfRef<Ref>) => Promise<ReturnsOfRef<Ref>> } {
  const valet = client instanceof ValetQueryClient ? client.client : client;
  return {
    mutationKey: ['valet', ref.path],
    mutationFn: (args) => valet.mutation(ref, ...([args] as OptionalArgs<Ref>)),
  };
}
