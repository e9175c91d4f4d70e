// The states of an action invocation, listed once for the engine, the admin API and the CLI.
// `interrupted`: the process serving it died (or was killed) while it ran; nobody knows whether
// its side effects happened.
export const INVOCATION_STATUSES = ['running', 'succeeded', 'failed', 'timeout', 'interrupted'] as const;
export type InvocationStatus = (typeof INVOCATION_STATUSES)[number];

export function isInvocationStatus(value: string): value is InvocationStatus {
  return (INVOCATION_STATUSES as readonly string[]).includes(value);
}
