// An archive's lines, read as a stream with a cap on each line's length: a gzip that expands to
// one endless line is refused at that line instead of growing a buffer until the process dies.
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { UserError } from '../../errors/user-error.js';

/** Far above any real document (bytes travel as base64 in one line), far below what breaks a process. */
export const MAX_LINE_BYTES = 64 * 1024 * 1024;

export interface ArchiveLine {
  text: string;
  line: number;
}

async function isGzip(file: string): Promise<boolean> {
  const handle = await open(file, 'r');
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(2), 0, 2, 0);
    return bytesRead === 2 && buffer[0] === 0x1f && buffer[1] === 0x8b;
  } finally {
    await handle.close();
  }
}

export function lineError(file: string, line: number, message: string): UserError {
  return new UserError(`${file}:${line}: ${message}`, { location: { file, line } });
}

/** Each line as text (a trailing "\r" removed), numbered from 1. */
export async function* archiveLines(file: string, maxLineBytes = MAX_LINE_BYTES): AsyncGenerator<ArchiveLine> {
  let input: Readable;
  try {
    input = createReadStream(file);
    if (await isGzip(file)) input = input.pipe(createGunzip());
  } catch (error) {
    throw new UserError(`cannot read ${file}: ${(error as Error).message}`);
  }
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let line = 0;
  const finish = (last: Buffer): ArchiveLine => {
    const bytes = pending.length === 0 ? last : Buffer.concat([...pending, last]);
    pending = [];
    pendingBytes = 0;
    line++;
    const text = bytes.toString('utf8');
    return { text: text.endsWith('\r') ? text.slice(0, -1) : text, line };
  };
  try {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      let start = 0;
      for (let newline = chunk.indexOf(10, start); newline !== -1; newline = chunk.indexOf(10, start)) {
        if (pendingBytes + newline - start > maxLineBytes) break;
        yield finish(chunk.subarray(start, newline));
        start = newline + 1;
      }
      const rest = chunk.length - start;
      if (pendingBytes + rest > maxLineBytes || chunk.indexOf(10, start) !== -1) {
        throw lineError(
          file,
          line + 1,
          `the line is longer than ${maxLineBytes / 1024 / 1024} MiB: not an archive valet export wrote`,
        );
      }
      if (rest > 0) {
        pending.push(chunk.subarray(start));
        pendingBytes += rest;
      }
    }
  } catch (error) {
    input.destroy();
    if (error instanceof UserError) throw error;
    throw new UserError(`cannot read ${file}: ${(error as Error).message}`);
  }
  if (pendingBytes > 0) yield finish(Buffer.alloc(0));
}
