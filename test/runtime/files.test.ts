// Stored files through a real HTTP server (and again on PostgreSQL, the same file, where the
// bytes are chunks in the database): upload URLs that work once and expire, files served with
// ETag, ranges and headers that keep them from running as pages, ctx.storage in each kind of
// function, deletes that commit with their mutation, the size limit, and a client that goes away
// mid-upload leaving nothing behind.
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { request } from 'node:http';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { afterAll, describe, expect, it } from 'vitest';
import { uploadFile, ValetClient, ValetClientError } from '../../src/client/index.js';
import { functionRef } from '../../src/server/index.js';
import { removeTempDirs } from '../helpers/apps.js';
import { onPostgres } from '../helpers/database.js';
import { ManualClock } from '../helpers/engine.js';
import { serveFixture } from '../helpers/sync-server.js';

afterAll(removeTempDirs);

const LIMIT = 64 * 1024;
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('ctx.storage', async () => {
  const clock = new ManualClock();
  const served = await serveFixture('files-app', undefined, 0, { clock, files: { maxUploadBytes: LIMIT } });
  afterAll(() => served.stop());
  const { url } = served;

  async function call(kind: 'query' | 'mutation' | 'action', path: string, args: unknown = {}) {
    const response = await fetch(`${url}/api/${kind}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ path, args }),
    });
    return { status: response.status, body: (await response.json()) as any };
  }
  async function value(kind: 'query' | 'mutation' | 'action', path: string, args: unknown = {}) {
    const { status, body } = await call(kind, path, args);
    if (status !== 200) throw new Error(`${path} → ${status} ${JSON.stringify(body)}`);
    return body.value;
  }
  const upload = (uploadUrl: string, bytes: Uint8Array | string, type = 'application/octet-stream') =>
    fetch(uploadUrl, { method: 'POST', headers: { 'content-type': type }, body: bytes as BodyInit });
  async function stored(bytes: Uint8Array | string, type?: string): Promise<string> {
    const response = await upload(await value('mutation', 'files:generateUploadUrl'), bytes, type);
    expect(response.status).toBe(200);
    return ((await response.json()) as { storageId: string }).storageId;
  }
  const fileCount = async () => (await value('query', 'files:all')).length;

  it('takes an upload through a signed URL and serves it back with its hash, type and safe headers', async () => {
    const uploadUrl: string = await value('mutation', 'files:generateUploadUrl');
    expect(uploadUrl).toMatch(new RegExp(`^${url}/api/storage/upload\\?token=[0-9a-z]+\\.\\d+\\.[\\w-]{43}$`));
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3, 4]);
    const response = await upload(uploadUrl, png, 'image/png');
    expect(response.status).toBe(200);
    const { storageId } = (await response.json()) as { storageId: string };
    await value('mutation', 'files:sendImage', { storageId, author: 'ada' });
    const [message] = await value('query', 'files:list');
    expect(message.url).toMatch(new RegExp(`^${url}/api/storage/${storageId}\\?sig=[\\w-]{43}$`));
    const file = await fetch(message.url);
    expect(file.status).toBe(200);
    expect(new Uint8Array(await file.arrayBuffer())).toEqual(png);
    expect(Object.fromEntries(file.headers)).toMatchObject({
      'content-type': 'image/png',
      'content-length': String(png.length),
      etag: `"${sha256(png)}"`,
      'cache-control': 'public, max-age=31536000, immutable',
      'x-content-type-options': 'nosniff',
      'content-security-policy': 'sandbox',
      'content-disposition': 'inline',
      'accept-ranges': 'bytes',
    });
    const { system, legacy } = await value('query', 'files:metadata', { id: storageId });
    expect(system).toEqual({
      _id: storageId,
      _creationTime: clock.now(),
      contentType: 'image/png',
      sha256: sha256(png),
      size: png.length,
    });
    expect(legacy).toEqual({ storageId, sha256: sha256(png), size: png.length, contentType: 'image/png' });
  });

  it('round-trips an empty file and a one-byte file', async () => {
    for (const bytes of [new Uint8Array(0), new Uint8Array([7])]) {
      const id = await stored(bytes);
      const file = await fetch(await value('query', 'files:urlOf', { id }));
      expect(file.status).toBe(200);
      expect(file.headers.get('content-length')).toBe(String(bytes.length));
      expect(new Uint8Array(await file.arrayBuffer())).toEqual(bytes);
    }
  });

  it('answers ranges, If-None-Match and HEAD', async () => {
    const text = 'abcdefghijklmnopqrstuvwxyz';
    const fileUrl: string = await value('query', 'files:urlOf', { id: await stored(text, 'text/plain') });
    const range = async (header: string) => {
      const response = await fetch(fileUrl, { headers: { range: header } });
      return { status: response.status, range: response.headers.get('content-range'), body: await response.text() };
    };
    expect(await range('bytes=0-4')).toEqual({ status: 206, range: 'bytes 0-4/26', body: 'abcde' });
    expect(await range('bytes=23-')).toEqual({ status: 206, range: 'bytes 23-25/26', body: 'xyz' });
    expect(await range('bytes=-2')).toEqual({ status: 206, range: 'bytes 24-25/26', body: 'yz' });
    expect(await range('bytes=20-1000')).toEqual({ status: 206, range: 'bytes 20-25/26', body: 'uvwxyz' });
    expect(await range('bytes=26-30')).toEqual({ status: 416, range: 'bytes */26', body: '' });
    expect(await range('bytes=0-1,3-4')).toMatchObject({ status: 200, body: text });
    const etag = (await fetch(fileUrl)).headers.get('etag')!;
    expect((await fetch(fileUrl, { headers: { 'if-none-match': etag } })).status).toBe(304);
    expect((await fetch(fileUrl, { headers: { 'if-none-match': '"other"' } })).status).toBe(200);
    const head = await fetch(fileUrl, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe('26');
    expect(await head.text()).toBe('');
  });

  it('serves anything a browser would run as a sandboxed download, never as a page', async () => {
    for (const [type, body] of [
      ['text/html; charset=utf-8', '<script>fetch("/api/mutation")</script>'],
      ['image/svg+xml', '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'],
      ['application/javascript', 'alert(1)'],
      ['text/xml', '<a/>'],
      ['application/x-unknown', 'x'],
    ] as const) {
      const file = await fetch(await value('query', 'files:urlOf', { id: await stored(body, type) }));
      expect(file.headers.get('content-disposition'), type).toBe('attachment');
      expect(file.headers.get('content-security-policy')).toBe('sandbox');
      expect(file.headers.get('x-content-type-options')).toBe('nosniff');
    }
  });

  it('uses an upload URL once, before it expires; refuses one it did not make', async () => {
    const uploadUrl: string = await value('mutation', 'files:generateUploadUrl');
    expect((await upload(uploadUrl, 'first')).status).toBe(200);
    const again = await upload(uploadUrl, 'second');
    expect(again.status).toBe(403);
    expect(await again.json()).toMatchObject({
      code: 'upload_url_invalid',
      message: expect.stringContaining('used already'),
    });

    const late: string = await value('mutation', 'files:generateUploadUrl');
    clock.advance(60 * 60 * 1000 + 1);
    const expired = await upload(late, 'late');
    expect(expired.status).toBe(403);
    expect(await expired.json()).toMatchObject({ message: expect.stringContaining('has expired') });

    const forged = late.replace(/\.[\w-]{43}$/, `.${'A'.repeat(43)}`);
    expect(await (await upload(forged, 'x')).json()).toMatchObject({
      code: 'upload_url_invalid',
      message: expect.stringContaining('not made by ctx.storage.generateUploadUrl'),
    });
    expect((await upload(`${url}/api/storage/upload`, 'x')).status).toBe(403);
    expect((await fetch(late, { method: 'GET' })).status).toBe(405);
    // A file URL with another file's signature, or none, is not a file.
    const id = await stored('kept');
    const fileUrl: string = await value('query', 'files:urlOf', { id });
    expect((await fetch(fileUrl.replace(/sig=.*/, 'sig=nope'))).status).toBe(404);
    expect((await fetch(`${url}/api/storage/${id}`)).status).toBe(404);
    expect((await fetch(`${url}/api/storage/..%2F..%2Fetc%2Fpasswd?sig=x`)).status).toBe(404);
  });

  it('deletes a file when the mutation commits, and not when it rolls back', async () => {
    const id = await stored('short-lived');
    const fileUrl: string = await value('query', 'files:urlOf', { id });
    expect((await call('mutation', 'files:remove', { id, fail: true })).status).toBe(500);
    expect((await fetch(fileUrl)).status).toBe(200);
    await value('mutation', 'files:remove', { id });
    expect((await fetch(fileUrl)).status).toBe(404);
    expect(await value('query', 'files:urlOf', { id })).toBeNull();
    expect((await value('query', 'files:metadata', { id })).system).toBeNull();
    expect(await call('mutation', 'files:remove', { id })).toMatchObject({
      status: 500,
      body: { code: 'file_not_found' },
    });
  });

  it('stores and reads bytes in actions, and says where bytes cannot be read', async () => {
    const id: string = await value('action', 'files:storeText', { text: 'from an action', contentType: 'text/plain' });
    expect(await value('action', 'files:readText', { id })).toEqual({ text: 'from an action', type: 'text/plain' });
    expect(await value('action', 'files:readText', { id: 'nosuchfile' })).toBeNull();
    expect(await (await fetch(await value('query', 'files:urlOf', { id }))).text()).toBe('from an action');
    expect(await value('action', 'files:uploadUrlFromAction')).toMatch(/\/api\/storage\/upload\?token=/);
    expect(await call('query', 'files:getInQuery', { id })).toMatchObject({
      status: 500,
      body: { code: 'storage_not_allowed' },
    });
  });

  it('refuses a file over the limit with 413, naming it, and keeps the URL usable', async () => {
    const before = await fileCount();
    const uploadUrl: string = await value('mutation', 'files:generateUploadUrl');
    const tooBig = await upload(uploadUrl, new Uint8Array(LIMIT + 1));
    expect(tooBig.status).toBe(413);
    expect(await tooBig.json()).toMatchObject({
      code: 'request_too_large',
      message: expect.stringContaining(`${LIMIT} bytes`),
    });
    // Sent without a length: refused once the bytes pass the limit.
    const chunked = await fetch(uploadUrl, {
      method: 'POST',
      body: new Blob([new Uint8Array(LIMIT * 2)]).stream(),
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).toBe(413);
    expect(await fileCount()).toBe(before);
    expect((await upload(uploadUrl, new Uint8Array(LIMIT))).status).toBe(200);
  });

  it('leaves nothing behind when the client goes away mid-upload', async () => {
    const before = await fileCount();
    const uploadUrl = new URL(await value('mutation', 'files:generateUploadUrl'));
    await new Promise<void>((resolve) => {
      const req = request(uploadUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(LIMIT) },
      });
      req.on('error', () => resolve());
      req.on('close', () => resolve());
      req.write(Buffer.alloc(1000), () => setTimeout(() => req.destroy(), 50));
    });
    await expect.poll(async () => fileCount()).toBe(before);
    if (!onPostgres)
      await expect
        .poll(() => readdirSync(join(served.app, '.valet', 'files')).filter((name) => name.endsWith('.part')))
        .toEqual([]);
    expect((await upload(uploadUrl.toString(), 'whole this time')).status).toBe(200);
  });

  it('keeps live queries over _storage up to date', async () => {
    const client = new ValetClient(url, { WebSocket: WebSocket as never });
    const seen: string[][] = [];
    const stop = client.subscribe(functionRef('files:all', 'query', { access: 'public' }), {}, (files) => {
      if (files) seen.push((files as { _id: string }[]).map((file) => file._id));
    });
    await expect.poll(() => seen.length).toBeGreaterThan(0);
    const id = await stored('watched');
    await expect.poll(() => seen.at(-1)?.includes(id)).toBe(true);
    await value('mutation', 'files:remove', { id });
    await expect.poll(() => seen.at(-1)?.includes(id)).toBe(false);
    stop();
    client.close();
  });

  it('uploads with uploadFile from valet/client, reporting progress', async () => {
    const client = new ValetClient(url, { WebSocket: WebSocket as never });
    const generate = functionRef('files:generateUploadUrl', 'mutation', { access: 'public' });
    const bytes = new Uint8Array(40_000).map((_, i) => i % 251);
    const progress: number[] = [];
    const id = await uploadFile(client, generate, new Blob([bytes], { type: 'application/octet-stream' }), {
      onProgress: (sent, total) => {
        expect(total).toBe(bytes.length);
        progress.push(sent);
      },
    });
    expect(progress.at(-1)).toBe(bytes.length);
    const file = await fetch(await value('query', 'files:urlOf', { id }));
    expect(new Uint8Array(await file.arrayBuffer())).toEqual(bytes);
    expect(await uploadFile(client, generate, new Blob(['no progress asked']))).toMatch(/^[0-9a-z]{26}$/);
    const refused = await uploadFile(client, generate, new Blob([new Uint8Array(LIMIT + 1)])).catch((e) => e);
    expect(refused).toBeInstanceOf(ValetClientError);
    expect(refused).toMatchObject({ code: 'request_too_large', status: 413 });
    client.close();
  });

  it("reads any range of a large file's bytes, across chunk and batch boundaries, as written", async () => {
    const { blobs } = served.engine.files;
    const size = 5 * 1024 * 1024 + 12_345;
    const bytes = new Uint8Array(size).map((_, i) => (i * 7 + (i >> 10)) % 256);
    // Written in odd-sized pieces, as a network delivers them.
    async function* pieces() {
      for (let at = 0; at < size; at += 99_991) yield bytes.subarray(at, Math.min(size, at + 99_991));
    }
    const written = await blobs.write('rangetest', pieces(), size);
    expect(written).toEqual({ size, sha256: sha256(bytes) });
    const read = async (range?: { start: number; end: number }) => {
      const parts: Uint8Array[] = [];
      for await (const part of blobs.read('rangetest', range)) parts.push(part);
      return Buffer.concat(parts);
    };
    expect((await read()).equals(Buffer.from(bytes))).toBe(true);
    const chunk = 256 * 1024;
    for (const [start, end] of [
      [0, 0],
      [chunk - 1, chunk],
      [chunk * 16 - 3, chunk * 16 + 3],
      [chunk * 15, chunk * 17 - 1],
      [size - 10, size - 1],
      [1_000_000, 4_500_000],
    ] as const) {
      expect((await read({ start, end })).equals(Buffer.from(bytes.subarray(start, end + 1))), `${start}-${end}`).toBe(
        true,
      );
    }
    await blobs.remove('rangetest');
    // Gone: a folder has no such file, the database no such chunks.
    expect(await read().catch(() => Buffer.alloc(0))).toHaveLength(0);
  });
});

// S3-compatible storage, verified against s3rver (an S3 emulator from npm): streamed multipart
// uploads, ranged reads, deletes, listing for the sweep. Not verified here against AWS S3 itself,
// MinIO or R2 (docs/files.md says so).
describe('ctx.storage on S3-compatible storage', async () => {
  const { default: S3rver } = await import('s3rver');
  const directory = mkdtempSync(join(tmpdir(), 'valet-s3rver-'));
  const s3 = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: [{ name: 'valet-files' }],
  });
  const { port } = (await s3.run()) as { port: number };
  // The SDK reads credentials from the environment, as it would in production.
  process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
  process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
  const served = await serveFixture('files-app', undefined, 0, {
    env: { VALET_FILES_S3_BUCKET: 'valet-files', VALET_FILES_S3_ENDPOINT: `http://127.0.0.1:${port}` },
    files: { maxUploadBytes: 32 * 1024 * 1024 },
  });
  afterAll(async () => {
    await served.stop();
    await s3.close();
    rmSync(directory, { recursive: true, force: true });
  });
  const { url } = served;
  const value = async (kind: 'query' | 'mutation' | 'action', path: string, args: unknown = {}) => {
    const response = await fetch(`${url}/api/${kind}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ path, args }),
    });
    const body = (await response.json()) as any;
    if (response.status !== 200) throw new Error(`${path} → ${response.status} ${JSON.stringify(body)}`);
    return body.value;
  };

  it('keeps files in the bucket: a multipart upload, ranges, ETag, delete', async () => {
    expect(served.engine.files.blobs.description).toBe(`s3 bucket valet-files at http://127.0.0.1:${port}`);
    // Past one 8 MiB part, in pieces as a network delivers them.
    const bytes = new Uint8Array(9 * 1024 * 1024 + 777).map((_, i) => (i * 13 + (i >> 12)) % 256);
    const uploaded = await fetch(await value('mutation', 'files:generateUploadUrl'), {
      method: 'POST',
      headers: { 'content-type': 'video/mp4' },
      body: bytes,
    });
    expect(uploaded.status).toBe(200);
    const { storageId } = (await uploaded.json()) as { storageId: string };
    const fileUrl: string = await value('query', 'files:urlOf', { id: storageId });
    const file = await fetch(fileUrl);
    expect(file.headers.get('etag')).toBe(`"${sha256(bytes)}"`);
    expect(Buffer.from(await file.arrayBuffer()).equals(Buffer.from(bytes))).toBe(true);
    const boundary = 8 * 1024 * 1024;
    const part = await fetch(fileUrl, { headers: { range: `bytes=${boundary - 5}-${boundary + 5}` } });
    expect(part.status).toBe(206);
    expect(new Uint8Array(await part.arrayBuffer())).toEqual(bytes.subarray(boundary - 5, boundary + 6));

    const id: string = await value('action', 'files:storeText', { text: 'from an action', contentType: 'text/plain' });
    expect(await value('action', 'files:readText', { id })).toEqual({ text: 'from an action', type: 'text/plain' });

    await value('mutation', 'files:remove', { id: storageId });
    expect((await fetch(fileUrl)).status).toBe(404);
  });

  /** The bucket's objects, as S3 lists them. */
  const objects = async () => {
    const { S3Client, ListObjectsV2Command } = await import('@aws-sdk/client-s3');
    const client = new S3Client({ region: 'us-east-1', endpoint: `http://127.0.0.1:${port}`, forcePathStyle: true });
    const page = await client.send(new ListObjectsV2Command({ Bucket: 'valet-files' }));
    client.destroy();
    return (page.Contents ?? []).map((object) => object.Key);
  };

  it('refuses a file over the limit and leaves no object behind', async () => {
    const before = await objects();
    const refused = await fetch(await value('mutation', 'files:generateUploadUrl'), {
      method: 'POST',
      body: new Blob([new Uint8Array(40 * 1024 * 1024)]).stream(),
      duplex: 'half',
    } as RequestInit);
    expect(refused.status).toBe(413);
    await expect.poll(objects).toEqual(before);
    expect(before.every((key) => key?.startsWith('valet-files/'))).toBe(true);
  });
});
