// OpenTelemetry over OTLP/HTTP, received by a server on loopback that decodes what it gets: one
// trace of a mutation → the action it scheduled → that action's fetch, its mutation and the
// email it enqueued → the worker's send of that email, with the database's statements as spans,
// the standard resource attributes, and errors marked; nothing is sent when no endpoint is set.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { captureTransport } from '../../src/runtime/outbox/transports.js';
import { removeTempDirs } from '../helpers/apps.js';
import { onPostgres } from '../helpers/database.js';
import { engineFor, ManualClock } from '../helpers/engine.js';

afterAll(removeTempDirs);

interface Span {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
  status?: { code?: number; message?: string };
  startTimeUnixNano: string;
  endTimeUnixNano: string;
}

type AnyValue = { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number };
const valueOf = (v: AnyValue) =>
  v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : (v.boolValue ?? v.doubleValue));
const attributes = (list: { key: string; value: AnyValue }[] = []) =>
  Object.fromEntries(list.map((a) => [a.key, valueOf(a.value)]));

/** An OTLP/HTTP receiver: every span it was sent, decoded from OTLP's JSON encoding. */
async function otlpReceiver() {
  const spans: Span[] = [];
  const resources: Record<string, unknown>[] = [];
  const paths: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      paths.push(`${req.method} ${req.url} ${req.headers['content-type']}`);
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      for (const rs of body.resourceSpans ?? []) {
        resources.push(attributes(rs.resource?.attributes));
        for (const ss of rs.scopeSpans ?? [])
          for (const span of ss.spans ?? []) spans.push({ ...span, attributes: attributes(span.attributes) });
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, spans, resources, paths, close: () => new Promise((resolve) => server.close(resolve)) };
}

const resolve = async () => ['93.184.216.34'];
const respondToFetch = async () => new Response('ok', { status: 202 });

describe('traces over OTLP', async () => {
  const receiver = await otlpReceiver();
  const clock = new ManualClock();
  const { engine, value, call } = await engineFor('calls-app', {
    clock,
    resolve,
    respondToFetch,
    emailTransport: captureTransport(() => undefined),
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '20', OTEL_SERVICE_NAME: 'calls-app' },
  });
  afterAll(() => receiver.close());

  it('sends one trace from a mutation to the email its scheduled action enqueued and its send', async () => {
    await value('mutation', 'todos:add', { text: 'milk' });
    await engine.scheduled.round();
    await expect.poll(async () => (await engine.calls.list({ path: 'todos:notify', outcome: 'ok' })).length).toBe(1);
    await engine.outbox.drain();
    await expect.poll(() => receiver.spans.some((s) => s.name === 'email send')).toBe(true);
    const byName = (name: string) => receiver.spans.find((s) => s.name === name)!;
    const add = byName('mutation todos:add');
    const notify = byName('action todos:notify');
    const note = byName('mutation todos:note');
    const fetchSpan = byName('POST');
    const enqueue = byName('outbox enqueue email');
    const send = byName('email send');
    const trace = add.traceId;
    expect(trace).toMatch(/^[0-9a-f]{32}$/);
    for (const span of [notify, note, fetchSpan, enqueue, send]) expect(span.traceId).toBe(trace);
    expect(add.parentSpanId || undefined).toBeUndefined();
    expect(notify.parentSpanId).toBe(add.spanId);
    expect(note.parentSpanId).toBe(notify.spanId);
    expect(fetchSpan.parentSpanId).toBe(notify.spanId);
    expect(enqueue.parentSpanId).toBe(notify.spanId);
    expect(send.parentSpanId).toBe(notify.spanId);
    expect(fetchSpan.attributes).toMatchObject({
      'http.request.method': 'POST',
      'url.full': 'https://hooks.example.com/todo',
      'http.response.status_code': 202,
    });
    expect(JSON.stringify(receiver.spans)).not.toContain('s3cr3t');
    expect(send.attributes).toMatchObject({ 'valet.outbox.status': 'sent' });
    expect(add.attributes).toMatchObject({
      'valet.function': 'todos:add',
      'valet.kind': 'mutation',
      'valet.outcome': 'ok',
    });
    // The mutation's statements are spans under it.
    const statements = receiver.spans.filter((s) => s.parentSpanId === add.spanId && s.attributes['db.system.name']);
    expect(statements.length).toBeGreaterThan(0);
    expect(statements[0]!.attributes['db.system.name']).toBe(onPostgres ? 'postgresql' : 'sqlite');
    expect(
      String(
        statements.find((s) => String(s.attributes['db.query.text']).includes('INSERT'))?.attributes['db.query.text'],
      ),
    ).toContain('INSERT');
    // OTLP/HTTP's path and encoding, and the standard resource attributes.
    expect(receiver.paths[0]).toMatch(/^POST \/v1\/traces application\/json/);
    expect(receiver.resources[0]).toMatchObject({
      'service.name': 'calls-app',
      'telemetry.sdk.name': 'opentelemetry',
      'telemetry.sdk.language': 'nodejs',
      'host.name': expect.any(String),
      'process.pid': process.pid,
    });
  });

  it('marks a failed call as an error span with its code', async () => {
    await call('mutation', 'todos:broken');
    await expect.poll(() => receiver.spans.some((s) => s.name === 'mutation todos:broken')).toBe(true);
    const broken = receiver.spans.find((s) => s.name === 'mutation todos:broken')!;
    expect(broken.status).toMatchObject({ code: 2, message: expect.stringContaining('handler_error') });
    expect(broken.attributes['valet.error.code']).toBe('handler_error');
  });
});

describe('without an endpoint', () => {
  it('loads no exporter and sends nothing', async () => {
    const receiver = await otlpReceiver();
    try {
      const { value, engine } = await engineFor('calls-app', { env: {} });
      await value('query', 'todos:list');
      await engine.close();
      expect(receiver.paths).toEqual([]);
    } finally {
      await receiver.close();
    }
  });
});
