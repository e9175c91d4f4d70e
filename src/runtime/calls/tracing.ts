// OpenTelemetry traces of calls, sent over OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT (or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set; off otherwise, and then nothing of it is loaded.
// A span is made from each finished call's record, with the trace and span ids derived from the
// activity log's ids (trace = the root call, parent = the parent call): a mutation, the action it
// scheduled on another instance minutes later, that action's fetches and the email it enqueued,
// and the worker's send of that email are one trace without any context carried between them.
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import type { OutboxSend } from '../outbox/worker.js';
import { observeStatements } from '../../storage/statement-observer.js';
import { currentScope } from '../scope.js';
import { parseCause } from './current.js';
import type { CallEvent, CallRecord } from './record.js';
import { addEvent } from './record.js';

export interface CallTracer {
  exportCall(record: CallRecord): void;
  exportSend(send: OutboxSend): void;
  close(): Promise<void>;
}

const traceIdOf = (root: string) => createHash('sha256').update(`trace:${root}`).digest('hex').slice(0, 32);
const spanIdOf = (id: string) => createHash('sha256').update(`span:${id}`).digest('hex').slice(0, 16);

/** `a=1,b=2` (OTEL_EXPORTER_OTLP_HEADERS, OTEL_RESOURCE_ATTRIBUTES): values percent-decoded. */
function keyValues(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (text ?? '').split(',')) {
    const at = pair.indexOf('=');
    if (at <= 0) continue;
    try {
      out[pair.slice(0, at).trim()] = decodeURIComponent(pair.slice(at + 1).trim());
    } catch {
      out[pair.slice(0, at).trim()] = pair.slice(at + 1).trim();
    }
  }
  return out;
}

export function tracesEndpointOf(env: NodeJS.ProcessEnv): string | null {
  if (env.OTEL_SDK_DISABLED === 'true' || env.OTEL_TRACES_EXPORTER === 'none') return null;
  const traces = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  if (traces) return traces;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  return base ? `${base.replace(/\/+$/, '')}/v1/traces` : null;
}

/** What a statement span says of its SQL: its first 300 characters (values are parameters, never in it). */
function statementEvent(sql: string, startedAt: number, durationMs: number): CallEvent {
  return {
    type: 'statement',
    at: performance.timeOrigin + startedAt,
    durationMs: Math.round(durationMs * 1000) / 1000,
    detail: sql.replace(/\s+/g, ' ').trim().slice(0, 300),
  };
}

export async function startTracing(
  env: NodeJS.ProcessEnv,
  options: { instance: string | null; backend: 'sqlite' | 'postgres'; log: (line: string) => void },
): Promise<CallTracer | null> {
  const url = tracesEndpointOf(env);
  if (!url) return null;
  const [api, sdk, otlp, resources] = await Promise.all([
    import('@opentelemetry/api'),
    import('@opentelemetry/sdk-trace'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
  ]);
  // The next span's ids, set just before it starts (startSpan is synchronous).
  let next = { traceId: '', spanId: '' };
  const resource = resources.defaultResource().merge(
    resources.resourceFromAttributes({
      'service.name': env.OTEL_SERVICE_NAME?.trim() || 'valet-app',
      'service.instance.id': options.instance ?? `${hostname()}:${process.pid}`,
      'host.name': hostname(),
      'process.pid': process.pid,
      ...keyValues(env.OTEL_RESOURCE_ATTRIBUTES),
    }),
  );
  const exporter = new otlp.OTLPTraceExporter({ url, headers: keyValues(env.OTEL_EXPORTER_OTLP_HEADERS) });
  const delay = Number(env.OTEL_BSP_SCHEDULE_DELAY);
  const provider = new sdk.TracerProvider({
    resource,
    idGenerator: { generateTraceId: () => next.traceId, generateSpanId: () => next.spanId },
    spanProcessors: [
      new sdk.BatchSpanProcessor({
        exporter,
        scheduledDelayMillis: Number.isFinite(delay) && delay > 0 ? delay : 1000,
        // A busy server makes many spans a second: bounded, dropped past this rather than held.
        maxQueueSize: 8192,
      }),
    ],
  });
  const tracer = provider.getTracer('valet');
  const dbSystem = options.backend === 'postgres' ? 'postgresql' : 'sqlite';

  function emit(
    name: string,
    span: {
      traceId: string;
      spanId: string;
      parentSpanId: string | null;
      kind: number;
      start: number;
      durationMs: number;
      attributes: Record<string, string | number | boolean | undefined>;
      error?: string | null;
    },
  ): void {
    next = { traceId: span.traceId, spanId: span.spanId };
    const parent = span.parentSpanId
      ? api.trace.setSpanContext(api.ROOT_CONTEXT, {
          traceId: span.traceId,
          spanId: span.parentSpanId,
          traceFlags: api.TraceFlags.SAMPLED,
          isRemote: true,
        })
      : api.ROOT_CONTEXT;
    const attributes = Object.fromEntries(Object.entries(span.attributes).filter(([, v]) => v !== undefined)) as Record<
      string,
      string | number | boolean
    >;
    const made = tracer.startSpan(name, { kind: span.kind, startTime: span.start, attributes }, parent);
    if (span.error) made.setStatus({ code: api.SpanStatusCode.ERROR, message: span.error });
    made.end(span.start + span.durationMs);
  }

  function eventSpan(record: CallRecord, event: CallEvent, index: number, traceId: string, parent: string): void {
    const common = {
      traceId,
      spanId: spanIdOf(`${record.id}/${index}`),
      parentSpanId: parent,
      start: event.at,
      durationMs: event.durationMs ?? 0,
    };
    if (event.type === 'fetch') {
      const [method, url] = event.detail.split(' ');
      emit(method ?? 'fetch', {
        ...common,
        kind: api.SpanKind.CLIENT,
        attributes: {
          'http.request.method': method,
          'url.full': url,
          'http.response.status_code': event.status || undefined,
        },
        error:
          event.status === 0
            ? 'the request failed before an answer'
            : event.status && event.status >= 500
              ? `HTTP ${event.status}`
              : null,
      });
    } else if (event.type === 'statement') {
      emit(`${dbSystem} ${event.detail.split(' ')[0]?.toUpperCase()}`, {
        ...common,
        kind: api.SpanKind.CLIENT,
        attributes: { 'db.system.name': dbSystem, 'db.query.text': event.detail },
      });
    } else {
      emit(event.type === 'schedule' ? `schedule ${event.detail}` : `outbox enqueue ${event.type}`, {
        ...common,
        kind: api.SpanKind.PRODUCER,
        attributes: {
          'messaging.system': event.type === 'schedule' ? 'valet-scheduler' : 'valet-outbox',
          'valet.outbox.id': event.type === 'schedule' ? undefined : event.id,
          'valet.scheduled.id': event.type === 'schedule' ? event.id : undefined,
        },
      });
    }
  }

  // Every statement of a call becomes one of its spans.
  observeStatements((sql, startedAt, durationMs) => {
    const call = currentScope()?.call;
    if (call) addEvent(call, statementEvent(sql, startedAt, durationMs));
  });

  return {
    exportCall(record) {
      try {
        const traceId = traceIdOf(record.root);
        const spanId = spanIdOf(record.id);
        emit(`${record.kind} ${record.path}`, {
          traceId,
          spanId,
          parentSpanId: record.parent ? spanIdOf(record.parent) : null,
          kind:
            record.parent || record.source === 'scheduler' || record.source === 'cron'
              ? api.SpanKind.INTERNAL
              : api.SpanKind.SERVER,
          start: record.startedAt,
          durationMs: record.durationMs ?? 0,
          attributes: {
            'valet.call.id': record.id,
            'valet.function': record.path,
            'valet.kind': record.kind,
            'valet.caller': record.caller,
            'valet.source': record.source,
            'valet.outcome': record.outcome,
            'valet.error.code': record.error?.code,
            'valet.invocation.id': record.invocation ?? undefined,
          },
          error: record.error ? `${record.error.code}: ${record.error.message}` : null,
        });
        record.events.forEach((event, index) => eventSpan(record, event, index, traceId, spanId));
      } catch (error) {
        options.log(`tracing: could not make the span of ${record.path}: ${(error as Error).message}`);
      }
    },
    exportSend(send) {
      const cause = parseCause(send.causedBy);
      if (!cause) return;
      emit(`${send.channel} send`, {
        traceId: traceIdOf(cause.root),
        spanId: spanIdOf(`${send.id}#${send.attempt}`),
        parentSpanId: spanIdOf(cause.id),
        kind: api.SpanKind.CLIENT,
        start: send.startedAt,
        durationMs: send.durationMs,
        attributes: {
          'messaging.system': 'valet-outbox',
          'valet.outbox.id': send.id,
          'valet.outbox.attempt': send.attempt,
          'valet.outbox.status': send.status,
        },
        error: send.status === 'sent' ? null : send.error,
      });
    },
    async close() {
      observeStatements(null);
      await provider
        .shutdown()
        .catch((error: Error) => options.log(`tracing: the last spans were not sent: ${error.message}`));
    },
  };
}
