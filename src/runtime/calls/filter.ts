// Which calls a listing asks for: the same filter for the in-memory ring (valet dev) and the
// table (valet start), so the CLI, /admin/calls and the dashboard answer alike on both.
import type { CallKind, CallOutcome, CallRecord } from './record.js';

export interface CallFilter {
  kind?: CallKind;
  /** A function path (`module:name`), a route label, a cron job's name. */
  path?: string;
  outcome?: CallOutcome;
  /** An error code (outcome error). */
  code?: string;
  /** `anonymous`, `user:<id>`, `system:<source>`, or a type alone (`user`, `system`). */
  caller?: string;
  /** Started at or after / before this time (ms). */
  since?: number;
  until?: number;
  /** Every call of one trace. */
  root?: string;
  limit?: number;
}

export const DEFAULT_CALL_LIMIT = 50;
export const MAX_CALL_LIMIT = 1000;

export function callerMatches(caller: string, wanted: string): boolean {
  return wanted.includes(':') ? caller === wanted : caller === wanted || caller.startsWith(`${wanted}:`);
}

export function matchesFilter(record: CallRecord, filter: CallFilter): boolean {
  return (
    (!filter.kind || record.kind === filter.kind) &&
    (!filter.path || record.path === filter.path) &&
    (!filter.outcome || record.outcome === filter.outcome) &&
    (!filter.code || record.error?.code === filter.code) &&
    (!filter.caller || callerMatches(record.caller, filter.caller)) &&
    (filter.since === undefined || record.startedAt >= filter.since) &&
    (filter.until === undefined || record.startedAt < filter.until) &&
    (!filter.root || record.root === filter.root)
  );
}
