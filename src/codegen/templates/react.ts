// react.ts: the React provider and hooks of valet/react, with signatures typed for this app's
// functions (arguments and results inferred from the modules through the generated `api`).
import { banner } from './banner.js';

export function renderReact(): string {
  return [
    banner(
      "React bindings for this app's functions: <ValetProvider>, useQuery, usePaginatedQuery, useMutation, useAction, usePushRegistration.",
    ),
    "import type { ActionCallOptions, ArgsOfRef, FunctionReference, OptionalArgsAnd, ReturnsOfRef } from 'valet/server';",
    "import type { MutationFunction, QueryArgsOrSkip, UsePaginatedQueryResult } from 'valet/react';",
    "import type { PaginatedItem } from 'valet/client';",
    "import { useAction as untypedUseAction, useMutation as untypedUseMutation, usePaginatedQuery as untypedUsePaginatedQuery, useQuery as untypedUseQuery } from 'valet/react';",
    '',
    "export { Authenticated, AuthLoading, Unauthenticated, useAuthActions, useAuthProviders, useConnectionState, usePendingMutations, usePushRegistration, useValetAuth, useValetClient, ValetProvider, ValetProviderWithAuth } from 'valet/react';",
    "export { registerPush, ValetClient } from 'valet/client';",
    '',
    '/** Functions a client may call: `system` functions are only for cron, the scheduler and admin. */',
    "type Callable<Kind extends 'query' | 'mutation' | 'action'> = FunctionReference<Kind, 'public' | 'authenticated'>;",
    '',
    "/** `useQuery(api.users.list)` (args when it takes some): the live result, `undefined` while loading; `'skip'` to wait. */",
    "export type UseQuery = <Ref extends Callable<'query'>>(ref: Ref, ...args: QueryArgsOrSkip<Ref>) => ReturnsOfRef<Ref> | undefined;",
    '',
    '/** `usePaginatedQuery(api.messages.list, { channel }, { initialNumItems: 20 })`: a live list with loadMore(n). */',
    "export type UsePaginatedQuery = <Ref extends Callable<'query'>>(ref: Ref, args: Omit<ArgsOfRef<Ref>, 'paginationOpts'> | 'skip', options: { initialNumItems: number }) => UsePaginatedQueryResult<PaginatedItem<Ref>>;",
    '',
    '/** `useMutation(api.users.create)`: queues the mutation (offline too) and resolves with its result. */',
    "export type UseMutation = <Ref extends Callable<'mutation'>>(ref: Ref) => MutationFunction<Ref>;",
    '',
    '/** Options for one action call; the same key makes retries after a reload deduplicate. */',
    'export type { ActionCallOptions };',
    '',
    '/** `useAction(api.actions.sendWelcomeEmail)`: calls the action over HTTP, never optimistically. */',
    "export type UseAction = <Ref extends Callable<'action'>>(ref: Ref) => (...args: OptionalArgsAnd<Ref, ActionCallOptions>) => Promise<ReturnsOfRef<Ref>>;",
    '',
    'export const useQuery: UseQuery = untypedUseQuery;',
    'export const usePaginatedQuery: UsePaginatedQuery = untypedUsePaginatedQuery;',
    'export const useMutation: UseMutation = untypedUseMutation;',
    'export const useAction: UseAction = untypedUseAction;',
    '',
  ].join('\n');
}
