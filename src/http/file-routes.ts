// Stored files over HTTP. POST /api/storage/upload?token=… takes a file's bytes (streamed to
// their store, bounded by VALET_MAX_UPLOAD_BYTES) for an upload URL that ctx.storage made, once;
// GET /api/storage/<id>?sig=… serves a file (ETag, 304, ranges, long caching). Files are the
// app's users' content, served from the app's own origin: no answer may run as a page there, so
// every one is sandboxed (CSP), never sniffed, and any type a browser would run (HTML, SVG, XML,
// script, anything unknown) is a download.
import { EngineError } from '../runtime/errors.js';
import { claimUpload, findFile, insertFile } from '../runtime/files/store.js';
import { noteFileChange } from '../runtime/files/system-table.js';
import { tooLargeError } from '../storage/files/blobs.js';
import type { ByteRange } from '../storage/files/blobs.js';
import { newId } from '../storage/ids.js';
import { DRAIN_LIMIT_BYTES } from './body.js';
import { engineOf, jsonReply } from './respond.js';
import type { HttpContext, HttpReply, HttpRequest } from './types.js';

/** Types a browser shows without running anything: served inline. Everything else downloads. */
const INLINE_TYPES = [
  /^image\/(png|jpeg|gif|webp|avif|bmp|x-icon|vnd\.microsoft\.icon)$/,
  /^(video|audio)\/[\w.+-]+$/,
  /^text\/(plain|csv)$/,
  /^application\/(pdf|json|octet-stream)$/,
  /^font\/[\w.+-]+$/,
];

const FILE_ID = /^[0-9a-z]{1,64}$/;

/** node:http's error for a request whose client closed the connection before its body ended. */
function clientWentAway(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: string; message?: string };
  return code === 'ECONNRESET' || message === 'aborted';
}

function mediaType(contentType: string | null): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

function queryParam(request: HttpRequest, name: string): string | null {
  return new URL(request.url, 'http://localhost').searchParams.get(name);
}

function refusedUpload(reason: string): EngineError {
  return new EngineError('upload_url_invalid', `this upload URL cannot be used: ${reason}`);
}

const CLAIM_REASONS = {
  unknown: 'it was not made by ctx.storage.generateUploadUrl on this database',
  expired: 'it has expired (upload URLs work for an hour): ask the app for a new one',
  used: 'it was used already (each upload URL takes one file): ask the app for a new one',
} as const;

export async function handleUpload(context: HttpContext, request: HttpRequest): Promise<HttpReply> {
  if (request.method !== 'POST')
    throw new EngineError('method_not_allowed', 'an upload URL takes the file as the body of a POST');
  const engine = engineOf(context);
  const { files } = engine;
  const uploadId = files.uploadOf(queryParam(request, 'token'));
  if (!uploadId) throw refusedUpload(CLAIM_REASONS.unknown);
  const body = request.streamBody();
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > files.maxUploadBytes) {
    // Read and dropped so the client can read the 413, unless there is too much of it: then the
    // answer goes at once and the connection closes after it.
    if (declared <= DRAIN_LIMIT_BYTES) await body.drain();
    throw tooLargeError(files.maxUploadBytes);
  }
  const fileId = newId();
  let written: { size: number; sha256: string };
  try {
    written = await files.blobs.write(fileId, body.chunks, files.maxUploadBytes);
  } catch (error) {
    // The client went away mid-body: nothing was kept, and nobody is left to answer.
    if (clientWentAway(error))
      throw new EngineError('invalid_request', 'the upload ended before its body did; nothing was stored');
    if (error instanceof EngineError && error.code === 'request_too_large') await body.drain();
    throw error;
  }
  try {
    // The URL is spent only by a complete upload: one cut short may be tried again.
    const claim = await engine.connections.inWriteTransaction(async (store) => {
      const outcome = await claimUpload(store.sql, uploadId, fileId, engine.now());
      if (outcome !== 'claimed') return outcome;
      const contentType = request.headers['content-type'] ?? null;
      await insertFile(store.sql, {
        id: fileId,
        created_at: engine.now(),
        content_type: contentType,
        ...written,
        location: files.blobs.location,
      });
      noteFileChange(store, fileId);
      return outcome;
    });
    if (claim !== 'claimed') throw refusedUpload(CLAIM_REASONS[claim]);
  } catch (error) {
    await files.blobs.remove(fileId).catch(() => undefined);
    throw error;
  }
  return jsonReply(200, { storageId: fileId });
}

/** One `bytes=` range of a file of `size` bytes; null: serve it whole; 'unsatisfiable': 416. */
function rangeOf(header: string | undefined, size: number): ByteRange | null | 'unsatisfiable' {
  if (!header) return null;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  // Several ranges, or another unit: the whole file is a valid answer to either.
  if (!match || (match[1] === '' && match[2] === '')) return null;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(match[1]);
  const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (start >= size || end < start) return 'unsatisfiable';
  return { start, end };
}

export async function serveFile(context: HttpContext, request: HttpRequest, id: string): Promise<HttpReply> {
  if (request.method !== 'GET' && request.method !== 'HEAD')
    throw new EngineError('method_not_allowed', 'a file URL answers GET and HEAD');
  const engine = engineOf(context);
  const { files } = engine;
  const notFound = new EngineError('not_found', 'no stored file at this URL (it may have been deleted)');
  if (!FILE_ID.test(id) || !files.isFileUrl(id, queryParam(request, 'sig'))) throw notFound;
  const row = await findFile(engine.connections.autoCommit.sql, id);
  if (!row) throw notFound;
  const type = mediaType(row.content_type);
  const inline = INLINE_TYPES.some((pattern) => pattern.test(type));
  const etag = `"${row.sha256}"`;
  const headers = [
    'content-type',
    row.content_type ?? 'application/octet-stream',
    'etag',
    etag,
    // The URL names these bytes for good: a changed file is another file.
    'cache-control',
    'public, max-age=31536000, immutable',
    'accept-ranges',
    'bytes',
    'x-content-type-options',
    'nosniff',
    'content-security-policy',
    'sandbox',
    'content-disposition',
    inline ? 'inline' : 'attachment',
  ];
  const ifNoneMatch = request.headers['if-none-match'];
  if (ifNoneMatch && (ifNoneMatch.trim() === '*' || ifNoneMatch.split(',').some((tag) => tag.trim() === etag)))
    return { status: 304, headers, body: '' };
  const ifRange = request.headers['if-range'];
  const range = ifRange && String(ifRange).trim() !== etag ? null : rangeOf(request.headers.range, row.size);
  if (range === 'unsatisfiable')
    return { status: 416, headers: [...headers, 'content-range', `bytes */${row.size}`], body: '' };
  const length = range ? range.end - range.start + 1 : row.size;
  headers.push('content-length', String(length));
  if (range) headers.push('content-range', `bytes ${range.start}-${range.end}/${row.size}`);
  const status = range ? 206 : 200;
  if (request.method === 'HEAD' || length === 0) return { status, headers, body: '' };
  return { status, headers, body: files.blobs.read(id, range ?? undefined) };
}
