// Per-function metrics of this process: calls, errors and durations (p50/p95/p99) over the last
// hour in one-minute buckets, and for queries how often live subscriptions re-ran them. Durations
// go into fixed geometric buckets (each 20 % wider than the last), so a quantile is read from
// counts, never from a sorted list, and recording a call is a few array increments.
import type { Clock } from '../clock.js';
import type { CallKind, CallRecord } from './record.js';

const BUCKET_BASE_MS = 0.05;
const BUCKET_GROWTH = 1.2;
const BUCKETS = 80; // up to ~110 s; slower calls share the last bucket
const MINUTE = 60_000;
const WINDOW_MINUTES = 60;

function bucketOf(ms: number): number {
  if (ms <= BUCKET_BASE_MS) return 0;
  return Math.min(BUCKETS - 1, Math.ceil(Math.log(ms / BUCKET_BASE_MS) / Math.log(BUCKET_GROWTH)));
}

/** A bucket's upper bound (ms): what a quantile that falls in it reads as. */
function bucketUpperMs(bucket: number): number {
  return BUCKET_BASE_MS * BUCKET_GROWTH ** bucket;
}

interface Minute {
  minute: number;
  calls: number;
  errors: number;
  reruns: number;
  durations: Uint32Array;
}

interface Series {
  path: string;
  kind: CallKind;
  calls: number;
  errors: number;
  reruns: number;
  sumMs: number;
  minutes: Minute[];
}

export interface FunctionMinute {
  /** The minute's start (ms since the epoch). */
  at: number;
  calls: number;
  errors: number;
  reruns: number;
  p95Ms: number | null;
}

export interface FunctionSummary {
  path: string;
  kind: CallKind;
  /** Over the last hour. */
  calls: number;
  errors: number;
  reruns: number;
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
  /** Live subscriptions to this query now (queries only). */
  subscriptions?: number;
  /** Each minute of the last hour that saw calls, oldest first. */
  minutes: FunctionMinute[];
}

function quantile(durations: Uint32Array, total: number, q: number): number | null {
  if (total === 0) return null;
  const wanted = Math.max(1, Math.ceil(total * q));
  let seen = 0;
  for (let i = 0; i < durations.length; i++) {
    seen += durations[i]!;
    if (seen >= wanted) return Math.round(bucketUpperMs(i) * 1000) / 1000;
  }
  return Math.round(bucketUpperMs(BUCKETS - 1) * 1000) / 1000;
}

export class FunctionMetrics {
  private readonly series = new Map<string, Series>();
  /** The same series by kind, then path: a call's path is the registry's own string (hashed once), not a new key. */
  private readonly byKind = new Map<CallKind, Map<string, Series>>();

  constructor(private readonly clock: Clock) {}

  observe(record: CallRecord, rerun: boolean): void {
    let paths = this.byKind.get(record.kind);
    if (!paths) {
      paths = new Map();
      this.byKind.set(record.kind, paths);
    }
    let series = paths.get(record.path);
    if (!series) {
      series = { path: record.path, kind: record.kind, calls: 0, errors: 0, reruns: 0, sumMs: 0, minutes: [] };
      paths.set(record.path, series);
      this.series.set(`${record.kind}\u0000${record.path}`, series);
    }
    const ms = record.durationMs ?? 0;
    const failed = record.outcome === 'error';
    series.calls++;
    series.sumMs += ms;
    if (failed) series.errors++;
    if (rerun) series.reruns++;
    const minute = Math.floor(this.clock.now() / MINUTE) * MINUTE;
    let current = series.minutes[series.minutes.length - 1];
    if (!current || current.minute !== minute) {
      current = { minute, calls: 0, errors: 0, reruns: 0, durations: new Uint32Array(BUCKETS) };
      series.minutes.push(current);
      const oldest = minute - WINDOW_MINUTES * MINUTE;
      while (series.minutes[0]!.minute <= oldest) series.minutes.shift();
    }
    current.calls++;
    if (failed) current.errors++;
    if (rerun) current.reruns++;
    current.durations[bucketOf(ms)]!++;
  }

  /** Every function seen in the last hour, busiest first. */
  summary(subscriptions: ReadonlyMap<string, number> = new Map()): FunctionSummary[] {
    const oldest = Math.floor(this.clock.now() / MINUTE) * MINUTE - WINDOW_MINUTES * MINUTE;
    const out: FunctionSummary[] = [];
    for (const series of this.series.values()) {
      const minutes = series.minutes.filter((m) => m.minute > oldest);
      const all = new Uint32Array(BUCKETS);
      let calls = 0;
      let errors = 0;
      let reruns = 0;
      for (const m of minutes) {
        calls += m.calls;
        errors += m.errors;
        reruns += m.reruns;
        for (let i = 0; i < BUCKETS; i++) all[i]! += m.durations[i]!;
      }
      const summary: FunctionSummary = {
        path: series.path,
        kind: series.kind,
        calls,
        errors,
        reruns,
        p50Ms: quantile(all, calls, 0.5),
        p95Ms: quantile(all, calls, 0.95),
        p99Ms: quantile(all, calls, 0.99),
        minutes: minutes.map((m) => ({
          at: m.minute,
          calls: m.calls,
          errors: m.errors,
          reruns: m.reruns,
          p95Ms: quantile(m.durations, m.calls, 0.95),
        })),
      };
      if (series.kind === 'query') summary.subscriptions = subscriptions.get(series.path) ?? 0;
      out.push(summary);
    }
    return out.sort((a, b) => b.calls - a.calls || (a.path < b.path ? -1 : 1));
  }

  /** Totals since this process started (Prometheus counters must only grow). */
  totals(): { path: string; kind: CallKind; calls: number; errors: number; reruns: number; sumMs: number }[] {
    return [...this.series.values()].map(({ path, kind, calls, errors, reruns, sumMs }) => ({
      path,
      kind,
      calls,
      errors,
      reruns,
      sumMs,
    }));
  }
}
