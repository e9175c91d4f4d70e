// Building replies: JSON with its length, the API's error shape, and the headers browsers need.
import { EngineError } from '../runtime/errors.js';
import type { Engine } from '../runtime/engine.js';
import type { HttpContext, HttpReply } from './types.js';

const JSON_TYPE = 'application/json; charset=utf-8';

export function jsonReply(status: number, body: unknown, headers: Record<string, string> = {}): HttpReply {
  const payload = JSON.stringify(body);
  const raw = ['content-type', JSON_TYPE, 'content-length', String(Buffer.byteLength(payload))];
  for (const name in headers) raw.push(name, headers[name]!);
  return { status, headers: raw, body: payload };
}

export function errorReply(error: EngineError): HttpReply {
  // A rate limit says when to come back, in the header clients and proxies read.
  const retryAfter = (error.data as { retryAfterSeconds?: unknown } | undefined)?.retryAfterSeconds;
  return jsonReply(
    error.status,
    error.toJSON(),
    error.status === 429 && typeof retryAfter === 'number' ? { 'retry-after': String(retryAfter) } : undefined,
  );
}

export function engineOf(context: HttpContext): Engine {
  if (context.engine) return context.engine;
  throw new EngineError('app_not_ready', context.notReadyReason ?? 'the app is not built yet');
}

/** JSON bodies only, for endpoints a page must not reach with a "simple" (unpreflighted) request. */
export function requireJson(contentType: string | undefined, path: string): void {
  if (!/^application\/json\s*(;|$)/i.test(contentType ?? '')) {
    throw new EngineError('unsupported_media_type', `${path} takes a JSON body: send Content-Type: application/json`);
  }
}

export function parseJsonBody(text: string, path: string): Record<string, unknown> {
  if (text.trim() === '') return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new EngineError('invalid_request', `${path}: the body is not valid JSON`);
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw new EngineError('invalid_request', `${path}: the body must be a JSON object`);
  return body as Record<string, unknown>;
}
