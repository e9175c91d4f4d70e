// Reading a request body up to a limit. Past it the caller gets a real 413 it can read: the
// rest of the body is read and thrown away (up to a bound) before the answer, because closing a
// socket the client is still writing to resets the connection and loses the answer with it.
import type { IncomingMessage } from 'node:http';
import { EngineError } from '../runtime/errors.js';
import type { BodyStream } from './types.js';

/** Past this much unread body (or this long), the connection is closed instead. */
export const DRAIN_LIMIT_BYTES = 64 * 1024 * 1024;
const DRAIN_LIMIT_MS = 10_000;

export function tooLarge(limit: number): EngineError {
  return new EngineError('request_too_large', `the request body is larger than ${limit} bytes`);
}

export function readNodeBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    const refuse = () => {
      over = true;
      chunks.length = 0;
      const timer = setTimeout(() => req.destroy(), DRAIN_LIMIT_MS);
      timer.unref();
      req.once('end', () => {
        clearTimeout(timer);
        reject(tooLarge(limit));
      });
    };
    if (Number.isFinite(declared) && declared > limit) {
      if (declared > DRAIN_LIMIT_BYTES) {
        // Too much to drain: answer at once; the server closes the connection after the reply.
        req.pause();
        return reject(tooLarge(limit));
      }
      refuse();
    }
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (over) {
        if (size > DRAIN_LIMIT_BYTES) req.destroy();
        return;
      }
      if (size > limit) return refuse();
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!over) resolve(Buffer.concat(chunks));
    });
    req.on('error', reject);
  });
}

/**
 * A body read as it arrives, from any async iterator of chunks (node:http's request, a web
 * stream's reader): the chunks without closing on an early exit, and a bounded drain of the rest.
 */
export function iteratedBody(iterator: AsyncIterator<Uint8Array>, destroy: () => void): BodyStream {
  return {
    chunks: { [Symbol.asyncIterator]: () => ({ next: () => iterator.next() }) },
    async drain() {
      let size = 0;
      // Past the time bound the connection is closed, which ends the loop below.
      const timer = setTimeout(destroy, DRAIN_LIMIT_MS);
      timer.unref();
      try {
        for (;;) {
          const { done, value } = await iterator.next();
          if (done) return;
          size += value.byteLength;
          if (size > DRAIN_LIMIT_BYTES) return destroy();
        }
      } catch {
        // The client went away: nothing left to answer.
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

export function nodeBodyStream(req: IncomingMessage): BodyStream {
  return iteratedBody(req[Symbol.asyncIterator](), () => req.destroy());
}
