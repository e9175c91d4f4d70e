// Where a stored file's bytes live: a folder (one file per blob) or PostgreSQL (chunks in
// _valet_file_chunks). Bytes are streamed in and out, hashed on the way in, and bounded: a
// write past the limit stops there and leaves nothing behind, as does a source that fails
// (a client that disconnects mid-upload). What a file is (type, size, hash) is kept apart, in
// _valet_files (runtime/files/store.ts).
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { EngineError } from '../../protocol/engine-error.js';
import type { SqlExecutor } from '../sql.js';

export interface WrittenBlob {
  size: number;
  sha256: string;
}

/** Inclusive byte positions, as HTTP ranges give them. */
export interface ByteRange {
  start: number;
  end: number;
}

export interface BlobStore {
  /** `folder <path>` or `postgres`: where files are, for the ready line. */
  readonly description: string;
  /** What `_valet_files.location` records for blobs written here. */
  readonly location: 'folder' | 'postgres' | 's3';
  write(id: string, source: AsyncIterable<Uint8Array>, maxBytes: number): Promise<WrittenBlob>;
  read(id: string, range?: ByteRange): AsyncIterable<Uint8Array>;
  remove(id: string): Promise<void>;
  /** Blobs written before `before` (ms) that `isKnown` does not claim: left by a crash, removed. */
  sweep(before: number, isKnown: (ids: string[]) => Promise<Set<string>>): Promise<number>;
}

export function tooLargeError(maxBytes: number): EngineError {
  return new EngineError(
    'request_too_large',
    `the file is larger than this server accepts (${maxBytes} bytes; VALET_MAX_UPLOAD_BYTES sets it)`,
  );
}

/** Counts and hashes what passes, and stops past `maxBytes`. */
class Meter {
  size = 0;
  private readonly hash = createHash('sha256');
  constructor(private readonly maxBytes: number) {}
  take(chunk: Uint8Array): void {
    this.size += chunk.byteLength;
    if (this.size > this.maxBytes) throw tooLargeError(this.maxBytes);
    this.hash.update(chunk);
  }
  result(): WrittenBlob {
    return { size: this.size, sha256: this.hash.digest('hex') };
  }
}

const BLOB_NAME = /^[a-z0-9]+$/;
const READ_CHUNK_BYTES = 1024 * 1024;

/** `.valet/files/` by default: a blob is written as `<id>.part` and renamed when complete. */
export class FolderBlobs implements BlobStore {
  readonly location = 'folder' as const;
  constructor(private readonly dir: string) {}

  get description(): string {
    return `folder ${this.dir}`;
  }

  private path(id: string): string {
    // Ids are the engine's own; checked anyway, so no id can name a path outside the folder.
    if (!BLOB_NAME.test(id)) throw new EngineError('not_found', `no stored file ${JSON.stringify(id)}`);
    return join(this.dir, id);
  }

  async write(id: string, source: AsyncIterable<Uint8Array>, maxBytes: number): Promise<WrittenBlob> {
    await mkdir(this.dir, { recursive: true });
    const target = this.path(id);
    const partial = `${target}.part`;
    const out = createWriteStream(partial, { flags: 'wx' });
    const meter = new Meter(maxBytes);
    try {
      for await (const chunk of source) {
        meter.take(chunk);
        if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
      }
      out.end();
      await finished(out);
      await rename(partial, target);
      return meter.result();
    } catch (error) {
      out.destroy();
      await rm(partial, { force: true });
      throw error;
    }
  }

  async *read(id: string, range?: ByteRange): AsyncIterable<Uint8Array> {
    // Large reads: fewer, bigger chunks through the answer's stream.
    yield* createReadStream(this.path(id), { highWaterMark: READ_CHUNK_BYTES, ...(range ?? {}) });
  }

  async remove(id: string): Promise<void> {
    await rm(this.path(id), { force: true });
  }

  async sweep(before: number, isKnown: (ids: string[]) => Promise<Set<string>>): Promise<number> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return 0;
    }
    const old: string[] = [];
    for (const name of names) {
      const info = await stat(join(this.dir, name)).catch(() => null);
      if (info?.isFile() && info.mtimeMs < before) old.push(name);
    }
    const known = await isKnown(old.filter((name) => BLOB_NAME.test(name)));
    let removed = 0;
    for (const name of old) {
      if (known.has(name)) continue;
      await rm(join(this.dir, name), { force: true });
      removed++;
    }
    return removed;
  }
}

/** A blob's bytes in chunks of this size (bytea rows stay far below PostgreSQL's limits). */
const CHUNK_BYTES = 256 * 1024;
/**
 * Chunks per statement, both ways: an INSERT of 4 MiB is one commit (one WAL flush) rather than
 * sixteen, and a read brings 4 MiB per round trip while the previous batch is being sent.
 */
const CHUNKS_PER_STATEMENT = 16;

/** In the database (PostgreSQL): several instances share files with no other service. */
export class DatabaseBlobs implements BlobStore {
  readonly location = 'postgres' as const;
  readonly description = 'postgres (in the database)';
  constructor(
    private readonly sql: SqlExecutor,
    private readonly now: () => number,
  ) {}

  async write(id: string, source: AsyncIterable<Uint8Array>, maxBytes: number): Promise<WrittenBlob> {
    const meter = new Meter(maxBytes);
    let chunks: Buffer[] = [];
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let seq = 0;
    const cut = () => {
      chunks.push(Buffer.concat(pending, pendingBytes));
      pending = [];
      pendingBytes = 0;
    };
    const flush = async () => {
      if (chunks.length === 0) return;
      const rows = chunks;
      chunks = [];
      const now = this.now();
      await this.sql.run(
        `INSERT INTO _valet_file_chunks (blob_id, seq, data, created_at) VALUES ${rows.map(() => '(?, ?, ?, ?)').join(', ')}`,
        rows.flatMap((data) => [id, seq++, data, now]),
      );
    };
    try {
      for await (const chunk of source) {
        meter.take(chunk);
        let rest = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        while (rest.length > 0) {
          const take = Math.min(CHUNK_BYTES - pendingBytes, rest.length);
          pending.push(Buffer.from(rest.subarray(0, take)));
          pendingBytes += take;
          rest = rest.subarray(take);
          if (pendingBytes === CHUNK_BYTES) cut();
          if (chunks.length === CHUNKS_PER_STATEMENT) await flush();
        }
      }
      if (pendingBytes > 0 || (seq === 0 && chunks.length === 0)) cut();
      await flush();
      return meter.result();
    } catch (error) {
      await this.remove(id).catch(() => undefined);
      throw error;
    }
  }

  private batch(id: string, from: number): Promise<{ seq: number; data: Buffer }[]> {
    return this.sql.all<{ seq: number; data: Buffer }>(
      'SELECT seq, data FROM _valet_file_chunks WHERE blob_id = ? AND seq >= ? AND seq < ? ORDER BY seq',
      [id, from, from + CHUNKS_PER_STATEMENT],
    );
  }

  async *read(id: string, range?: ByteRange): AsyncIterable<Uint8Array> {
    let from = range ? Math.floor(range.start / CHUNK_BYTES) : 0;
    let next = this.batch(id, from);
    for (;;) {
      const rows = await next;
      from += CHUNKS_PER_STATEMENT;
      const past = range !== undefined && from * CHUNK_BYTES > range.end;
      // The next batch is on its way while this one is sent.
      if (rows.length === CHUNKS_PER_STATEMENT && !past) next = this.batch(id, from);
      for (const row of rows) {
        const offset = row.seq * CHUNK_BYTES;
        if (range && offset > range.end) return;
        const start = range ? Math.max(0, range.start - offset) : 0;
        const end = range ? Math.min(row.data.length, range.end - offset + 1) : row.data.length;
        if (end > start) yield row.data.subarray(start, end);
      }
      if (rows.length < CHUNKS_PER_STATEMENT || past) return;
    }
  }

  async remove(id: string): Promise<void> {
    await this.sql.run('DELETE FROM _valet_file_chunks WHERE blob_id = ?', [id]);
  }

  async sweep(before: number, isKnown: (ids: string[]) => Promise<Set<string>>): Promise<number> {
    const old = (
      await this.sql.all<{ blob_id: string }>(
        'SELECT DISTINCT blob_id FROM _valet_file_chunks WHERE seq = 0 AND created_at < ?',
        [before],
      )
    ).map((row) => row.blob_id);
    const known = await isKnown(old);
    let removed = 0;
    for (const id of old) {
      if (known.has(id)) continue;
      await this.remove(id);
      removed++;
    }
    return removed;
  }
}
