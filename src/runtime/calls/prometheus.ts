// /admin/metrics in Prometheus' text format (version 0.0.4): counters since this process
// started, quantiles over the last hour as a summary, live subscriptions as a gauge. Each
// instance answers for itself, as Prometheus expects of the targets it scrapes.
import type { FunctionMetrics } from './metrics.js';

function label(value: string): string {
  return value.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n');
}

function seconds(ms: number | null): string {
  return ms === null ? 'NaN' : String(ms / 1000);
}

export function prometheusText(metrics: FunctionMetrics, subscriptions: ReadonlyMap<string, number>): string {
  const totals = metrics.totals();
  const recent = new Map(metrics.summary(subscriptions).map((s) => [`${s.kind}\u0000${s.path}`, s]));
  const lines: string[] = [];
  const family = (name: string, type: string, help: string) =>
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  const labels = (t: { path: string; kind: string }) => `function="${label(t.path)}",kind="${t.kind}"`;

  family('valet_function_calls_total', 'counter', 'Calls of each function since this process started.');
  for (const t of totals) lines.push(`valet_function_calls_total{${labels(t)}} ${t.calls}`);
  family('valet_function_errors_total', 'counter', 'Calls of each function that failed, since this process started.');
  for (const t of totals) lines.push(`valet_function_errors_total{${labels(t)}} ${t.errors}`);
  family(
    'valet_function_duration_seconds',
    'summary',
    'How long calls took: quantiles over the last hour, sum and count since this process started.',
  );
  for (const t of totals) {
    const s = recent.get(`${t.kind}\u0000${t.path}`);
    for (const [q, ms] of [
      ['0.5', s?.p50Ms ?? null],
      ['0.95', s?.p95Ms ?? null],
      ['0.99', s?.p99Ms ?? null],
    ] as const)
      lines.push(`valet_function_duration_seconds{${labels(t)},quantile="${q}"} ${seconds(ms)}`);
    lines.push(`valet_function_duration_seconds_sum{${labels(t)}} ${t.sumMs / 1000}`);
    lines.push(`valet_function_duration_seconds_count{${labels(t)}} ${t.calls}`);
  }
  family('valet_query_reruns_total', 'counter', 'Re-runs of each query for its live subscriptions after writes.');
  for (const t of totals)
    if (t.kind === 'query') lines.push(`valet_query_reruns_total{function="${label(t.path)}"} ${t.reruns}`);
  family('valet_query_subscriptions', 'gauge', 'Live subscriptions to each query on this instance now.');
  for (const [path, count] of [...subscriptions].sort())
    lines.push(`valet_query_subscriptions{function="${label(path)}"} ${count}`);
  return `${lines.join('\n')}\n`;
}
