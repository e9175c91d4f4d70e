// The activity log: every call begins and finishes a record here. Finishing is cheap and
// synchronous (metrics, the tracer, a ring or a pending batch); a database-backed log hands its
// batches to its sink (sink.ts) from a background loop, never on the request's path, and is pruned
// by age. Sampling
// keeps or drops whole traces (by their root), and a failed call is always kept.
import type { Clock } from '../clock.js';
import { Loop } from '../loop.js';
import type { CallFilter } from './filter.js';
import { DEFAULT_CALL_LIMIT, matchesFilter } from './filter.js';
import { NO_EVENTS, NO_LINES, nextCallId } from './record.js';
import type { CallKind, CallParent, CallRecord, CallSource } from './record.js';
import { Ring } from './ring.js';
import type { CallSink } from './sink.js';

export type CallStore = 'memory' | 'database';

export interface CallLogSettings {
  /** `memory`: a ring of this process's newest calls (valet dev); `database`: _valet_calls (valet start). */
  store: CallStore;
  /** How many calls the memory ring keeps. */
  ringSize: number;
  /** How long the database keeps a call (ms). */
  retentionMs: number;
  /** The share of traces kept (0–1); failed calls are kept whatever it says. */
  sampleRate: number;
}

export const DEFAULT_CALL_SETTINGS: CallLogSettings = {
  store: 'memory',
  ringSize: 5_000,
  retentionMs: 24 * 60 * 60 * 1000,
  sampleRate: 1,
};

export interface BeginCall {
  kind: CallKind;
  path: string;
  source: CallSource;
  caller: string;
  parent?: CallParent | null;
}

/** A pending batch larger than this (the database out of reach for long) drops its oldest records. */
const MAX_PENDING = 20_000;
const FLUSH_EVERY_MS = 1_000;
const FLUSH_AT = 2_000;
const PRUNE_EVERY_MS = 10 * 60 * 1000;
/** A trace's calls are fetched at most this many at a time (a cron job that fans out to thousands). */
export const MAX_TRACE_CALLS = 500;

/** A number in [0, 1) from an id: the same for every call of a trace, on every instance. */
function sampleValue(root: string): number {
  let hash = 2166136261;
  for (let i = 0; i < root.length; i++) hash = Math.imul(hash ^ root.charCodeAt(i), 16777619);
  return (hash >>> 0) / 2 ** 32;
}

export class CallLog {
  private readonly ring: Ring<CallRecord> | null;
  private readonly sink: CallSink | null;
  /** Calls begun and not finished (a Set of the records: no id string to hash on every call). */
  private readonly running = new Set<CallRecord>();
  private pending: CallRecord[] = [];
  private readonly listeners: ((record: CallRecord, rerun: boolean) => void)[] = [];
  private readonly flusher: Loop | null = null;
  private lastPrune = 0;
  private flushing: Promise<void> | null = null;
  /** Records dropped because the database stayed out of reach (each drop also logs once). */
  dropped = 0;
  /** Moves with every call begun or finished here (the dashboard's cue to re-read). */
  version = 0;

  constructor(
    readonly settings: CallLogSettings,
    private readonly options: {
      /** Where the database store keeps records (null for the memory store). */
      sink: CallSink | null;
      clock: Clock;
      instance: string | null;
      log: (line: string) => void;
      redact: (text: string) => string;
    },
  ) {
    this.sink = settings.store === 'database' ? options.sink : null;
    this.ring = this.sink ? null : new Ring(settings.ringSize);
    if (this.sink) {
      this.flusher = new Loop(
        options.clock,
        async () => {
          await this.flush();
          await this.prune();
          return FLUSH_EVERY_MS;
        },
        (error) => options.log(`could not write the call log: ${error.message} (retried)`),
        FLUSH_EVERY_MS,
      );
      this.flusher.start();
    }
  }

  /** Called with every finished call (metrics, the tracer), sampled or not. */
  onFinish(listener: (record: CallRecord, rerun: boolean) => void): void {
    this.listeners.push(listener);
  }

  begin(call: BeginCall): CallRecord {
    const id = nextCallId();
    const record: CallRecord = {
      id,
      parent: call.parent?.id ?? null,
      root: call.parent?.root ?? id,
      path: call.path,
      kind: call.kind,
      source: call.source,
      caller: call.caller,
      instance: this.options.instance,
      startedAt: this.options.clock.now(),
      durationMs: null,
      outcome: 'running',
      error: null,
      invocation: null,
      logs: NO_LINES as CallRecord['logs'],
      events: NO_EVENTS as CallRecord['events'],
    };
    this.running.add(record);
    this.version++;
    return record;
  }

  /** Ends a record: `error` null for success. A live query's re-run is kept only when it failed. */
  finish(record: CallRecord, durationMs: number, error: CallRecord['error'], rerun = false): void {
    this.running.delete(record);
    this.version++;
    record.durationMs = Math.round(durationMs * 1000) / 1000;
    record.outcome = error ? 'error' : 'ok';
    record.error = error;
    for (const line of record.logs) line.message = this.options.redact(line.message);
    for (const listener of this.listeners) listener(record, rerun);
    if (rerun && !error) return;
    if (!error && this.settings.sampleRate < 1 && sampleValue(record.root) >= this.settings.sampleRate) return;
    if (this.ring) return this.ring.push(record);
    this.pending.push(record);
    if (this.pending.length > MAX_PENDING) {
      if (this.dropped === 0)
        this.options.log('the call log could not be written for a while: its oldest unwritten records are dropped');
      this.dropped += this.pending.length - MAX_PENDING;
      this.pending.splice(0, this.pending.length - MAX_PENDING);
    }
    if (this.pending.length >= FLUSH_AT) this.flusher?.wake();
  }

  /**
   * Writes what is pending (database store); on a failure the batch stays for the next try.
   * Flushes run one at a time, and a caller waits for one in flight (a listing must see it).
   */
  flush(): Promise<void> {
    const previous = this.flushing ?? Promise.resolve();
    const next = previous
      .catch(() => undefined)
      .then(() => this.writePending())
      .finally(() => {
        if (this.flushing === next) this.flushing = null;
      });
    this.flushing = next;
    return next;
  }

  private async writePending(): Promise<void> {
    if (this.pending.length === 0 || !this.sink) return;
    const batch = this.pending;
    this.pending = [];
    try {
      await this.sink.write(batch);
    } catch (error) {
      this.pending = batch.concat(this.pending);
      throw error;
    }
  }

  private async prune(): Promise<void> {
    if (!this.sink) return;
    const now = this.options.clock.now();
    if (now - this.lastPrune < PRUNE_EVERY_MS) return;
    this.lastPrune = now;
    await this.sink.prune(now - this.settings.retentionMs);
  }

  /** Newest first: this process's running calls, then the finished ones the filter wants. */
  async list(filter: CallFilter = {}): Promise<CallRecord[]> {
    const limit = filter.limit ?? DEFAULT_CALL_LIMIT;
    const running = [...this.running].filter((r) => matchesFilter(r, filter)).reverse();
    if (running.length >= limit) return running.slice(0, limit);
    const rest = limit - running.length;
    if (this.ring) {
      const found: CallRecord[] = [];
      for (const record of this.ring.newestFirst()) {
        if (!matchesFilter(record, filter)) continue;
        if (found.push(record) >= rest) break;
      }
      return running.concat(found);
    }
    if (!this.sink) return running;
    await this.flush();
    return running.concat(await this.sink.list({ ...filter, limit: rest }));
  }

  async get(id: string): Promise<CallRecord | null> {
    for (const running of this.running) if (running.id === id) return running;
    if (this.ring) {
      for (const record of this.ring.newestFirst()) if (record.id === id) return record;
      return null;
    }
    if (!this.sink) return null;
    await this.flush();
    return this.sink.get(id);
  }

  /** Every call of a trace (oldest first): a call's page draws its tree from them. */
  async trace(root: string): Promise<CallRecord[]> {
    const calls = await this.list({ root, limit: MAX_TRACE_CALLS });
    return calls.sort((a, b) => a.startedAt - b.startedAt || (a.id < b.id ? -1 : 1));
  }

  /** Writes what is left (a graceful stop). */
  async close(): Promise<void> {
    await this.flusher?.stop();
    await this.flush().catch((error: Error) =>
      this.options.log(`the last ${this.pending.length} call records were not written: ${error.message}`),
    );
    await this.sink?.close();
  }
}
