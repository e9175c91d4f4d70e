// One record per function call, of every kind (the activity log): who called what, from where,
// under which parent, how long it took, how it ended, what it printed and what it caused (the
// fetches it made, the email it enqueued, the calls it scheduled). Actions keep their idempotency
// record in _valet_action_invocations as well; this record is the log beside it.
import type { Invoker } from '../../server/ctx.js';
import { newId } from '../../storage/ids.js';

export type CallKind = 'query' | 'mutation' | 'action' | 'http' | 'cron';
export const CALL_KINDS: readonly CallKind[] = ['query', 'mutation', 'action', 'http', 'cron'];

/** How the call arrived. */
export type CallSource =
  | 'http'
  | 'sync'
  | 'cli'
  | 'dashboard'
  | 'admin'
  | 'scheduler'
  | 'cron'
  | 'function'
  | 'mcp'
  | 'test';

export type CallOutcome = 'running' | 'ok' | 'error';
export const CALL_OUTCOMES: readonly CallOutcome[] = ['running', 'ok', 'error'];

/** Something a call caused that is not itself a call: shown in its tree, sent as a span. */
export interface CallEvent {
  type: 'fetch' | 'email' | 'push' | 'schedule' | 'statement';
  /** Engine time it started (ms since the epoch). */
  at: number;
  durationMs?: number;
  /** What it was: `GET https://api.example.com/v1/charges`, an email's subject, a scheduled path. */
  detail: string;
  /** The outbox row, the scheduled call. */
  id?: string;
  /** A fetch's HTTP status (0: it failed before an answer). */
  status?: number;
}

/** console.log and friends, by name. */
export type LineLevel = 'log' | 'info' | 'warn' | 'error' | 'debug';

export interface CallLine {
  time: number;
  level: LineLevel;
  message: string;
}

/** How a call failed: the code its caller got, the real message, and for a handler's own failure its stack and where in valet/ it threw. */
export interface CallError {
  code: string;
  message: string;
  stack?: string;
  at?: { file: string; line?: number; column?: number };
}

/** A call's parent as a child needs it: the parent's id and its trace's root. */
export interface CallParent {
  id: string;
  root: string;
}

export interface CallRecord {
  /** Unique across processes and instances. */
  id: string;
  /** The call that caused this one (ran it, scheduled it, the cron tick), or null. */
  parent: string | null;
  /** The first call of the chain: a trace is every call with the same root. */
  root: string;
  path: string;
  kind: CallKind;
  source: CallSource;
  /** `anonymous`, `user:<id>`, `system:<cron|scheduler|admin>`. */
  caller: string;
  instance: string | null;
  startedAt: number;
  durationMs: number | null;
  outcome: CallOutcome;
  error: CallError | null;
  /** An action's record in the invocation log (idempotency, re-run). */
  invocation: string | null;
  logs: CallLine[];
  events: CallEvent[];
}

/** A call keeps its first lines and events: enough to read, bounded whatever a handler does. */
export const MAX_LINES_PER_CALL = 100;
export const MAX_EVENTS_PER_CALL = 200;
const MAX_LINE_CHARS = 4_000;

let counter = 0;
/** Random per process (ids never collide across processes or instances) plus a counter: cheap. */
const prefix = newId().slice(0, 10);

export function nextCallId(): string {
  return `${prefix}${(++counter).toString(36)}`;
}

export function callerOf(invoker: Invoker): string {
  if (invoker.type === 'user') return `user:${invoker.userId}`;
  if (invoker.type === 'system') return `system:${invoker.source}`;
  return 'anonymous';
}

/**
 * What a new record's `logs` and `events` start as: most calls print nothing and cause nothing,
 * so they share these (frozen) and a call gets arrays of its own on its first line or event.
 */
export const NO_LINES: readonly CallLine[] = Object.freeze([]);
export const NO_EVENTS: readonly CallEvent[] = Object.freeze([]);

export function addLine(record: CallRecord, line: CallLine): void {
  if (record.logs.length >= MAX_LINES_PER_CALL) return;
  const message = line.message.length > MAX_LINE_CHARS ? `${line.message.slice(0, MAX_LINE_CHARS)}…` : line.message;
  if (record.logs === NO_LINES) record.logs = [];
  record.logs.push({ ...line, message });
}

export function addEvent(record: CallRecord, event: CallEvent): void {
  if (record.events.length >= MAX_EVENTS_PER_CALL) return;
  if (record.events === NO_EVENTS) record.events = [];
  record.events.push(event);
}
