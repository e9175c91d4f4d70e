// ctx.storage, Convex's shape: generateUploadUrl (mutations, actions), getUrl and getMetadata
// (everywhere), delete (mutations, actions: inside the mutation's transaction, so a rolled-back
// mutation deletes nothing), get and store (actions and HTTP routes, which may stream bytes).
// File bytes never pass through JSON: they go in through an upload URL or `store`, out through a
// file URL or `get`.
import { Readable } from 'node:stream';
import type { ReadExecutor } from '../../storage/query.js';
import type { Read } from '../../storage/read-set.js';
import { newId } from '../../storage/ids.js';
import type { WriteExecutor } from '../database-api.js';
import { EngineError } from '../errors.js';
import type { FileService } from './service.js';
import { UPLOAD_URL_TTL_MS } from './service.js';
import { createUpload, deleteFile, findFile, insertFile } from './store.js';
import { noteFileChange } from './system-table.js';

export interface StorageApiOptions {
  files: FileService;
  kind: 'query' | 'mutation' | 'action';
  read: ReadExecutor;
  /** Absent in queries. */
  write?: WriteExecutor;
  now: () => number;
  /** Records what a query read (a file's row), so a live getUrl follows the file. */
  record?: (read: Read) => void;
}

function notAllowed(method: string, where: string): EngineError {
  return new EngineError('storage_not_allowed', `ctx.storage.${method} is not available in ${where}`);
}

/** The bytes of what `store` was given: a Blob (or File), or bytes. */
function sourceOf(value: unknown): AsyncIterable<Uint8Array> {
  if (value instanceof Blob) return Readable.fromWeb(value.stream() as never) as AsyncIterable<Uint8Array>;
  if (value instanceof ArrayBuffer) return [new Uint8Array(value)] as unknown as AsyncIterable<Uint8Array>;
  if (ArrayBuffer.isView(value))
    return [new Uint8Array(value.buffer, value.byteOffset, value.byteLength)] as unknown as AsyncIterable<Uint8Array>;
  throw new EngineError('storage_not_allowed', 'ctx.storage.store takes a Blob (or an ArrayBuffer of bytes)');
}

export function storageApi(options: StorageApiOptions) {
  const { files, kind, read, write, now, record } = options;
  const where = kind === 'query' ? 'a query' : kind === 'mutation' ? 'a mutation' : 'an action';
  const writer = (method: string): WriteExecutor => {
    if (!write) throw notAllowed(method, where);
    return write;
  };
  const findRow = (id: unknown) => {
    if (typeof id !== 'string') return Promise.resolve(null);
    record?.({ kind: 'id', id });
    return read((store) => findFile(store.sql, id));
  };

  return {
    /** A URL a client POSTs a file to (once, within the hour); the answer is `{ storageId }`. */
    async generateUploadUrl(): Promise<string> {
      const run = writer('generateUploadUrl');
      const id = newId();
      const expiresAt = now() + UPLOAD_URL_TTL_MS;
      await run((store) => createUpload(store.sql, id, expiresAt));
      return files.uploadUrl(id, expiresAt);
    },

    /** A URL that serves the file, or null when there is no such file. */
    async getUrl(id: string): Promise<string | null> {
      return (await findRow(id)) ? files.fileUrl(id) : null;
    },

    /** Convex's older metadata call (ctx.db.system.get(id) is the newer way). */
    async getMetadata(
      id: string,
    ): Promise<{ storageId: string; sha256: string; size: number; contentType: string | null } | null> {
      const row = await findRow(id);
      return row ? { storageId: row.id, sha256: row.sha256, size: row.size, contentType: row.content_type } : null;
    },

    /** Deletes the file: in a mutation, when it commits; its URLs stop working then. */
    async delete(id: string): Promise<void> {
      const run = writer('delete');
      await run(async (store) => {
        if (typeof id !== 'string' || !(await deleteFile(store.sql, id)))
          throw new EngineError('file_not_found', `ctx.storage.delete: no stored file ${JSON.stringify(id)}`);
        noteFileChange(store, id);
      });
    },

    /** The file's bytes, or null when there is no such file (actions only). */
    async get(id: string): Promise<Blob | null> {
      if (kind !== 'action') throw notAllowed('get', where);
      const row = await findRow(id);
      if (!row) return null;
      const chunks: Uint8Array[] = [];
      for await (const chunk of files.blobs.read(row.id)) chunks.push(chunk);
      return new Blob(chunks as BlobPart[], { type: row.content_type ?? '' });
    },

    /** Stores bytes as a new file; returns its id (actions only). */
    async store(blob: Blob, options: { contentType?: string } = {}): Promise<string> {
      if (kind !== 'action') throw notAllowed('store', where);
      const run = writer('store');
      const source = sourceOf(blob);
      const contentType = options?.contentType ?? (blob instanceof Blob && blob.type ? blob.type : null);
      const id = newId();
      const written = await files.blobs.write(id, source, files.maxUploadBytes);
      try {
        await run(async (store) => {
          await insertFile(store.sql, {
            id,
            created_at: now(),
            content_type: contentType,
            ...written,
            location: files.blobs.location,
          });
          noteFileChange(store, id);
        });
      } catch (error) {
        await files.blobs.remove(id).catch(() => undefined);
        throw error;
      }
      return id;
    },
  };
}
