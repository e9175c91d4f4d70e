// Stored files in an export archive (`valet export --include-files`), and back in by `valet
// import`: a line with what the file is, then its bytes in lines of at most 192 KiB (base64), so
// neither side ever holds a whole file. Bytes go to whichever store the target uses (a folder, or
// the database's chunks inside the import's transaction), checked against the size and SHA-256
// the archive states.
import { UserError } from '../errors/user-error.js';
import { deleteAllFiles, insertFile, knownFileIds, listFiles } from '../runtime/files/store.js';
import type { BlobStore } from '../storage/files/blobs.js';
import type { SqlExecutor } from '../storage/sql.js';

/** Raw bytes per chunk line (256 KiB once in base64). */
const CHUNK_BYTES = 192 * 1024;
const FILE_ID = /^[0-9a-z]{1,64}$/;
const SHA256 = /^[0-9a-f]{64}$/;

export interface FileLine {
  file: string;
  _creationTime: number;
  contentType: string | null;
  sha256: string;
  size: number;
}

export interface FileChunkLine {
  fileChunk: string;
  data: string;
}

/** Every stored file as archive lines (without their newlines). */
export async function* fileLines(sql: SqlExecutor, blobs: BlobStore): AsyncGenerator<string> {
  for (const row of await listFiles(sql)) {
    const meta: FileLine = {
      file: row.id,
      _creationTime: row.created_at,
      contentType: row.content_type,
      sha256: row.sha256,
      size: row.size,
    };
    yield JSON.stringify(meta);
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const chunk = (): string => {
      const data = Buffer.concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
      return JSON.stringify({ fileChunk: row.id, data: data.toString('base64') } satisfies FileChunkLine);
    };
    for await (const part of blobs.read(row.id)) {
      let rest = Buffer.from(part.buffer, part.byteOffset, part.byteLength);
      while (rest.length > 0) {
        const take = Math.min(CHUNK_BYTES - pendingBytes, rest.length);
        pending.push(rest.subarray(0, take));
        pendingBytes += take;
        rest = rest.subarray(take);
        if (pendingBytes === CHUNK_BYTES) yield chunk();
      }
    }
    if (pendingBytes > 0) yield chunk();
  }
}

/** Chunks handed from the import's line loop to a blob store's write, a few at a time. */
class ChunkChannel implements AsyncIterable<Uint8Array> {
  private readonly queue: Uint8Array[] = [];
  private waiting: ((result: IteratorResult<Uint8Array>) => void) | null = null;
  private drained: (() => void) | null = null;
  private closed = false;

  private failed = false;

  /** Resolves once the writer has room again (backpressure: the archive is not read ahead of the disk). */
  async push(chunk: Uint8Array): Promise<void> {
    // The writer failed: the bytes go nowhere, and end() reports why.
    if (this.failed) return;
    if (this.waiting) {
      const waiting = this.waiting;
      this.waiting = null;
      waiting({ value: chunk, done: false });
      return;
    }
    this.queue.push(chunk);
    if (this.queue.length >= 4) await new Promise<void>((resolve) => (this.drained = resolve));
  }

  /** The writer stopped reading (it failed): nothing may wait on it any more. */
  abandon(): void {
    this.failed = true;
    this.queue.length = 0;
    this.drained?.();
    this.drained = null;
  }

  close(): void {
    this.closed = true;
    this.waiting?.({ value: undefined, done: true });
    this.waiting = null;
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return {
      next: () => {
        const chunk = this.queue.shift();
        if (this.queue.length < 4 && this.drained) {
          this.drained();
          this.drained = null;
        }
        if (chunk) return Promise.resolve({ value: chunk, done: false });
        if (this.closed) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => (this.waiting = resolve));
      },
    };
  }
}

/** Files arriving in an import: written as their chunk lines come, recorded once complete and checked. */
export class FileImport {
  count = 0;
  private current: { meta: FileLine; line: number; channel: ChunkChannel; written: Promise<unknown> } | null = null;

  constructor(
    private readonly sql: SqlExecutor,
    private readonly blobs: BlobStore,
    private readonly fail: (line: number, message: string) => UserError,
  ) {}

  /** `--replace`: the files there before go with the documents. */
  async clear(): Promise<void> {
    await deleteAllFiles(this.sql);
  }

  async begin(meta: FileLine, line: number): Promise<void> {
    await this.end();
    if (typeof meta.file !== 'string' || !FILE_ID.test(meta.file))
      throw this.fail(line, 'a file needs an id of letters and digits');
    if (!Number.isSafeInteger(meta.size) || meta.size < 0)
      throw this.fail(line, `file ${meta.file}: size is not a count of bytes`);
    if (typeof meta.sha256 !== 'string' || !SHA256.test(meta.sha256))
      throw this.fail(line, `file ${meta.file}: sha256 is not a hex SHA-256`);
    if (typeof meta._creationTime !== 'number' || !Number.isFinite(meta._creationTime))
      throw this.fail(line, `file ${meta.file}: _creationTime is not a number`);
    if (meta.contentType !== null && typeof meta.contentType !== 'string')
      throw this.fail(line, `file ${meta.file}: contentType is not text`);
    if ((await knownFileIds(this.sql, [meta.file])).size > 0)
      throw this.fail(line, `file ${meta.file} is already in the database (import with --replace to start afresh)`);
    const channel = new ChunkChannel();
    const written = this.blobs.write(meta.file, channel, Number.MAX_SAFE_INTEGER);
    // A failed write is reported by end(); until then it must neither block the lines nor go unhandled.
    written.catch(() => channel.abandon());
    this.current = { meta, line, channel, written };
  }

  async chunk(value: FileChunkLine, line: number): Promise<void> {
    if (!this.current || value.fileChunk !== this.current.meta.file)
      throw this.fail(line, 'file bytes that do not follow their file line');
    if (typeof value.data !== 'string') throw this.fail(line, 'file bytes must be base64 text');
    await this.current.channel.push(Buffer.from(value.data, 'base64'));
  }

  /** Completes the file being read (if any): its bytes must be what its line says. */
  async end(): Promise<void> {
    const current = this.current;
    if (!current) return;
    this.current = null;
    current.channel.close();
    const { meta, line } = current;
    const written = (await current.written) as { size: number; sha256: string };
    if (written.size !== meta.size || written.sha256 !== meta.sha256) {
      await this.blobs.remove(meta.file);
      throw this.fail(
        line,
        `file ${meta.file}: its bytes are not the ${meta.size} bytes its line describes (cut short or altered)`,
      );
    }
    await insertFile(this.sql, {
      id: meta.file,
      created_at: meta._creationTime,
      content_type: meta.contentType,
      sha256: meta.sha256,
      size: meta.size,
      location: this.blobs.location,
    });
    this.count++;
  }
}
