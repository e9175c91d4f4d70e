// How `valet calls` prints: one line per call, and a call's trace as a tree of the calls it caused
// with the fetches, emails and scheduled calls each made.
import kleur from 'kleur';
import type { CallRecord } from '../runtime/calls/record.js';

interface CallLine {
  id: string;
  path: string;
  kind: string;
  source: string;
  caller: string;
  startedAt: number;
  durationMs: number | null;
  outcome: string;
  error: { code: string; message: string } | null;
}

export function duration(ms: number | null): string {
  if (ms === null) return 'running';
  return ms < 10 ? `${ms.toFixed(2)} ms` : ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

function outcomeMark(outcome: string): string {
  return outcome === 'ok' ? kleur.green('✓') : outcome === 'error' ? kleur.red('✗') : kleur.cyan('…');
}

export function callLine(call: CallLine): string {
  const error = call.error ? kleur.red(` ${call.error.code}: ${call.error.message.split('\n')[0]}`) : '';
  return `${call.id}  ${new Date(call.startedAt).toISOString()}  ${outcomeMark(call.outcome)} ${call.kind.padEnd(8)} ${call.path.padEnd(28)} ${duration(call.durationMs).padStart(9)}  ${call.caller} via ${call.source}${error}`;
}

/** The trace as an indented tree, children under their parent in the order they started. */
export function traceTree(trace: CallRecord[], highlight: string): string[] {
  const children = new Map<string | null, CallRecord[]>();
  const ids = new Set(trace.map((c) => c.id));
  for (const call of trace) {
    // A parent outside the trace (pruned, sampled out) makes its child a root of what is shown.
    const parent = call.parent && ids.has(call.parent) ? call.parent : null;
    children.set(parent, [...(children.get(parent) ?? []), call]);
  }
  const lines: string[] = [];
  const walk = (call: CallRecord, depth: number) => {
    const pad = '  '.repeat(depth);
    const text = `${outcomeMark(call.outcome)} ${call.kind} ${call.path} (${duration(call.durationMs)}${call.error ? `, ${call.error.code}` : ''}) ${kleur.dim(call.id)}`;
    lines.push(`${pad}${call.id === highlight ? kleur.bold(text) : text}`);
    for (const event of call.events) {
      const status = event.type === 'fetch' ? ` → ${event.status || 'failed'}` : '';
      const took = event.durationMs === undefined ? '' : ` (${duration(event.durationMs)})`;
      lines.push(`${pad}  · ${event.type} ${event.detail}${status}${took}${event.id ? kleur.dim(` ${event.id}`) : ''}`);
    }
    for (const child of children.get(call.id) ?? []) walk(child, depth + 1);
  };
  for (const root of children.get(null) ?? []) walk(root, 0);
  return lines;
}
