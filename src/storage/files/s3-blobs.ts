// Stored files' bytes in S3-compatible object storage (VALET_FILES=s3, or VALET_FILES_S3_BUCKET):
// one object per file under a key prefix, written by a streamed multipart upload (parts of 8 MiB,
// two in flight: memory stays flat), read with a byte Range. The SDK (@aws-sdk/client-s3 and
// @aws-sdk/lib-storage) is the app's to install, an optional peer of valet like pg; credentials
// come from the SDK's usual sources (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, a profile, a role).
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { UserError } from '../../errors/user-error.js';
import { EngineError } from '../../protocol/engine-error.js';
import { storageUnavailable } from '../faults.js';
import type { BlobStore, ByteRange, WrittenBlob } from './blobs.js';
import { tooLargeError } from './blobs.js';

export interface S3Options {
  bucket: string;
  /** An S3-compatible service's URL (MinIO, R2, a local emulator); else AWS's for the region. */
  endpoint?: string;
  region?: string;
  /** Key prefix of every file (default `valet-files/`). */
  prefix?: string;
}

const PART_BYTES = 8 * 1024 * 1024;

type S3Sdk = typeof import('@aws-sdk/client-s3') & { Upload: typeof import('@aws-sdk/lib-storage').Upload };

let sdk: Promise<S3Sdk> | null = null;

/** The SDK, or a message saying how to install it. */
function loadSdk(): Promise<S3Sdk> {
  sdk ??= Promise.all([import('@aws-sdk/client-s3'), import('@aws-sdk/lib-storage')]).then(
    ([client, storage]) => ({ ...client, Upload: storage.Upload }),
    (error: NodeJS.ErrnoException) => {
      sdk = null;
      if (error?.code !== 'ERR_MODULE_NOT_FOUND') throw error;
      throw new UserError(
        'files are kept in S3 (VALET_FILES_S3_BUCKET), and its SDK is not installed: run npm install @aws-sdk/client-s3 @aws-sdk/lib-storage in the app',
      );
    },
  );
  return sdk;
}

/** S3's answers as Valet's: an object that is not there, the service out of reach. */
function asFault(error: unknown): unknown {
  if (error instanceof EngineError || error instanceof UserError) return error;
  const name = (error as { name?: string })?.name;
  if (name === 'NoSuchKey' || name === 'NotFound') return new EngineError('not_found', 'no stored file with this id');
  return storageUnavailable(error);
}

export class S3Blobs implements BlobStore {
  readonly location = 's3' as const;
  readonly description: string;
  private client: Promise<InstanceType<S3Sdk['S3Client']>> | null = null;
  private readonly prefix: string;

  constructor(private readonly options: S3Options) {
    this.prefix = options.prefix ?? 'valet-files/';
    this.description = `s3 bucket ${options.bucket}${options.endpoint ? ` at ${options.endpoint}` : ''}`;
  }

  private async s3() {
    this.client ??= loadSdk().then(
      ({ S3Client }) =>
        new S3Client({
          region: this.options.region ?? process.env.AWS_REGION ?? 'us-east-1',
          ...(this.options.endpoint ? { endpoint: this.options.endpoint, forcePathStyle: true } : {}),
        }),
    );
    return { client: await this.client, sdk: await loadSdk() };
  }

  private key(id: string): string {
    return `${this.prefix}${id}`;
  }

  async write(id: string, source: AsyncIterable<Uint8Array>, maxBytes: number): Promise<WrittenBlob> {
    const { client, sdk: s3 } = await this.s3();
    const hash = createHash('sha256');
    let size = 0;
    // What stopped the body (the limit, a client gone): the SDK reports it in its own words.
    let stopped: unknown = null;
    async function* metered() {
      try {
        for await (const chunk of source) {
          size += chunk.byteLength;
          if (size > maxBytes) throw tooLargeError(maxBytes);
          hash.update(chunk);
          yield chunk;
        }
      } catch (error) {
        stopped = error;
        throw error;
      }
    }
    const upload = new s3.Upload({
      client,
      params: { Bucket: this.options.bucket, Key: this.key(id), Body: Readable.from(metered()) },
      partSize: PART_BYTES,
      queueSize: 2,
      leavePartsOnError: false,
    });
    try {
      await upload.done();
    } catch (error) {
      await upload.abort().catch(() => undefined);
      await this.remove(id).catch(() => undefined);
      throw stopped ?? asFault(error);
    }
    return { size, sha256: hash.digest('hex') };
  }

  async *read(id: string, range?: ByteRange): AsyncIterable<Uint8Array> {
    const { client, sdk: s3 } = await this.s3();
    let body: AsyncIterable<Uint8Array>;
    try {
      const answer = await client.send(
        new s3.GetObjectCommand({
          Bucket: this.options.bucket,
          Key: this.key(id),
          ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
        }),
      );
      body = answer.Body as unknown as AsyncIterable<Uint8Array>;
    } catch (error) {
      throw asFault(error);
    }
    yield* body;
  }

  async remove(id: string): Promise<void> {
    const { client, sdk: s3 } = await this.s3();
    try {
      await client.send(new s3.DeleteObjectCommand({ Bucket: this.options.bucket, Key: this.key(id) }));
    } catch (error) {
      throw asFault(error);
    }
  }

  async sweep(before: number, isKnown: (ids: string[]) => Promise<Set<string>>): Promise<number> {
    const { client, sdk: s3 } = await this.s3();
    let removed = 0;
    let token: string | undefined;
    do {
      const page = await client.send(
        new s3.ListObjectsV2Command({ Bucket: this.options.bucket, Prefix: this.prefix, ContinuationToken: token }),
      );
      const old = (page.Contents ?? [])
        .filter((object) => object.Key && object.LastModified && object.LastModified.getTime() < before)
        .map((object) => object.Key!.slice(this.prefix.length));
      const known = await isKnown(old);
      for (const id of old) {
        if (known.has(id)) continue;
        await this.remove(id);
        removed++;
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return removed;
  }
}
