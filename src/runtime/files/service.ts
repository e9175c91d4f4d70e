// What ctx.storage and the file routes share: where the bytes go (storage/files/blobs.ts), the
// upload size limit, and the URLs. URLs are capabilities: an upload URL names a one-time upload
// row and its expiry, a file URL names the file, each signed with a secret kept in the database
// (so every instance on it signs and checks alike). A file URL never expires; it stops working
// when the file's row is deleted.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { join } from 'node:path';
import type { BlobStore } from '../../storage/files/blobs.js';
import { DatabaseBlobs, FolderBlobs } from '../../storage/files/blobs.js';
import { S3Blobs } from '../../storage/files/s3-blobs.js';
import type { S3Options } from '../../storage/files/s3-blobs.js';
import type { SqlExecutor } from '../../storage/sql.js';
import type { Connections } from '../connections/types.js';
import { knownFileIds, pruneUploads } from './store.js';

/** 100 MiB unless VALET_MAX_UPLOAD_BYTES says otherwise. */
export const DEFAULT_MAX_UPLOAD_BYTES = 100 * 1024 * 1024;
/** How long an upload URL works (Convex's hour). */
export const UPLOAD_URL_TTL_MS = 60 * 60 * 1000;
/** Bytes without a row older than this were left by a crash mid-upload (or their file was deleted). */
const ORPHAN_AGE_MS = 60 * 60 * 1000;
const SECRET_KEY = 'files_url_secret';

export interface FilesOptions {
  /** `folder` (default on SQLite: `<state dir>/files`), `postgres` (default on PostgreSQL) or `s3`. */
  backend?: 'folder' | 'postgres' | 's3';
  /** The bucket and service for `s3`. */
  s3?: S3Options;
  /** The folder for the `folder` backend. */
  dir?: string;
  maxUploadBytes?: number;
  /** The origin URLs are made for (VALET_PUBLIC_URL); else the server's own, once it listens. */
  publicUrl?: string;
}

/**
 * VALET_FILES (`folder`, `postgres` or `s3`; `s3` when VALET_FILES_S3_BUCKET is set), VALET_FILES_DIR
 * and VALET_FILES_S3_*, checked against the database's backend.
 */
export function filesConfigOf(
  env: NodeJS.ProcessEnv,
  backend: 'sqlite' | 'postgres',
): Pick<FilesOptions, 'backend' | 'dir' | 's3'> {
  const bucket = env.VALET_FILES_S3_BUCKET || undefined;
  const chosen = env.VALET_FILES || (bucket ? 's3' : undefined);
  if (chosen !== undefined && chosen !== 'folder' && chosen !== 'postgres' && chosen !== 's3')
    throw new Error(`VALET_FILES must be "folder", "postgres" or "s3", got ${JSON.stringify(chosen)}`);
  if (chosen === 'postgres' && backend !== 'postgres')
    throw new Error('VALET_FILES=postgres keeps files in the database, which needs a PostgreSQL database');
  if (chosen === 's3' && !bucket)
    throw new Error('VALET_FILES=s3 needs VALET_FILES_S3_BUCKET: the bucket to keep files in');
  const endpoint = env.VALET_FILES_S3_ENDPOINT || undefined;
  if (endpoint && !/^https?:\/\//.test(endpoint))
    throw new Error(`VALET_FILES_S3_ENDPOINT must be an http(s) URL, got ${JSON.stringify(endpoint)}`);
  return {
    backend: chosen,
    dir: env.VALET_FILES_DIR || undefined,
    s3: bucket
      ? {
          bucket,
          endpoint,
          region: env.VALET_FILES_S3_REGION || undefined,
          prefix: env.VALET_FILES_S3_PREFIX || undefined,
        }
      : undefined,
  };
}

/** VALET_MAX_UPLOAD_BYTES, checked: a positive whole number of bytes. */
export function maxUploadBytesOf(env: NodeJS.ProcessEnv): number {
  const text = env.VALET_MAX_UPLOAD_BYTES;
  if (text === undefined || text === '') return DEFAULT_MAX_UPLOAD_BYTES;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value <= 0)
    throw new Error(`VALET_MAX_UPLOAD_BYTES must be a positive whole number of bytes, got ${JSON.stringify(text)}`);
  return value;
}

/** Where a database's file bytes are: its own chunks (PostgreSQL's default) or a folder. */
export function openBlobStore(options: {
  backend: 'sqlite' | 'postgres';
  sql: SqlExecutor;
  now: () => number;
  /** The SQLite file's folder (the default folder is `files/` beside it). */
  stateDir: string | null;
  config: Pick<FilesOptions, 'backend' | 'dir' | 's3'>;
}): BlobStore {
  const chosen = options.config.backend ?? (options.backend === 'postgres' ? 'postgres' : 'folder');
  if (chosen === 's3') return new S3Blobs(options.config.s3!);
  return chosen === 'postgres'
    ? new DatabaseBlobs(options.sql, options.now)
    : new FolderBlobs(options.config.dir ?? join(options.stateDir ?? '.valet', 'files'));
}

export class FileService {
  readonly blobs: BlobStore;
  readonly maxUploadBytes: number;
  private secret: Buffer | null = null;
  private publicUrl: string | null;

  constructor(
    private readonly connections: Connections,
    private readonly now: () => number,
    options: FilesOptions & { stateDir: string | null },
  ) {
    this.blobs = openBlobStore({
      backend: connections.backend,
      sql: connections.autoCommit.sql,
      now,
      stateDir: options.stateDir,
      config: options,
    });
    this.maxUploadBytes = options.maxUploadBytes ?? DEFAULT_MAX_UPLOAD_BYTES;
    this.publicUrl = options.publicUrl ?? null;
  }

  /** Reads (or makes, once per database) the secret URLs are signed with. */
  async start(): Promise<void> {
    const sql = this.connections.autoCommit.sql;
    await sql.run('INSERT INTO _valet_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING', [
      SECRET_KEY,
      randomBytes(32).toString('hex'),
    ]);
    const row = await sql.get<{ value: string }>('SELECT value FROM _valet_meta WHERE key = ?', [SECRET_KEY]);
    this.secret = Buffer.from(row!.value, 'hex');
  }

  /** The server's own URL, once it listens (VALET_PUBLIC_URL, when given, wins). */
  setServerUrl(url: string): void {
    this.publicUrl ??= url;
  }

  private sign(text: string): string {
    if (!this.secret) throw new Error('file URLs are signed once the engine has started');
    return createHmac('sha256', this.secret).update(text).digest('base64url');
  }

  private verify(text: string, signature: string): boolean {
    const expected = Buffer.from(this.sign(text));
    const given = Buffer.from(signature);
    return expected.length === given.length && timingSafeEqual(expected, given);
  }

  private url(path: string): string {
    return this.publicUrl ? new URL(path, this.publicUrl).toString() : path;
  }

  uploadUrl(uploadId: string, expiresAt: number): string {
    const token = `${uploadId}.${expiresAt}`;
    return this.url(`/api/storage/upload?token=${token}.${this.sign(`upload:${token}`)}`);
  }

  /** The upload an upload URL's token names, if its signature holds (expiry and use are the row's). */
  uploadOf(token: string | null): string | null {
    const [id, expires, signature] = (token ?? '').split('.');
    if (!id || !expires || !signature) return null;
    return this.verify(`upload:${id}.${expires}`, signature) ? id : null;
  }

  fileUrl(fileId: string): string {
    return this.url(`/api/storage/${fileId}?sig=${this.sign(`file:${fileId}`)}`);
  }

  isFileUrl(fileId: string, signature: string | null): boolean {
    return signature !== null && this.verify(`file:${fileId}`, signature);
  }

  /** Removes bytes no file row claims (a crash mid-upload, a deleted file's) and expired upload rows. */
  async sweep(): Promise<number> {
    const sql = this.connections.autoCommit.sql;
    const before = this.now() - ORPHAN_AGE_MS;
    await pruneUploads(sql, before);
    return this.blobs.sweep(before, (ids) => knownFileIds(sql, ids));
  }
}
