// react.ts: the signatures of the React hooks, typed from this app's functions. Types only: the
// hooks' implementation ships with the client (valet/react), which binds to these signatures.
import { banner } from './banner.js';

export function renderReact(): string {
  return [
    banner('Typed signatures of the React hooks for this app\'s functions.'),
    "import type { ArgsOfRef, FunctionReference, ReturnsOfRef } from 'valet/server';",
    '',
    "/** Functions a client may call: `system` functions are only for cron, the scheduler and admin. */",
    "type Callable<Kind extends 'query' | 'mutation' | 'action'> = FunctionReference<Kind, 'public' | 'authenticated'>;",
    '',
    '/** `useQuery(api.users.list, {})`: the live result, `undefined` while loading. */',
    "export type UseQuery = <Ref extends Callable<'query'>>(ref: Ref, args: ArgsOfRef<Ref>) => ReturnsOfRef<Ref> | undefined;",
    '',
    '/** `useMutation(api.users.create)`: a function that applies the mutation and resolves with its result. */',
    "export type UseMutation = <Ref extends Callable<'mutation'>>(ref: Ref) => (args: ArgsOfRef<Ref>) => Promise<ReturnsOfRef<Ref>>;",
    '',
    '/** Options for one action call; the same key makes retries after a reload deduplicate. */',
    'export type ActionCallOptions = { idempotencyKey?: string };',
    '',
    '/** `useAction(api.actions.sendWelcomeEmail)`: calls the action over HTTP, never optimistically. */',
    "export type UseAction = <Ref extends Callable<'action'>>(ref: Ref) => (args: ArgsOfRef<Ref>, options?: ActionCallOptions) => Promise<ReturnsOfRef<Ref>>;",
    '',
  ].join('\n');
}
