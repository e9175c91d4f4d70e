// uploadFile: Convex's three-step upload in one call — a mutation of the app makes an upload URL,
// the file is POSTed to it (with progress), and the stored file's id comes back to be saved by
// another mutation. In browsers the bytes go through XMLHttpRequest, whose upload events give
// progress; elsewhere (Node) through fetch, counting the bytes as they are read.
import type { FunctionReference } from '../server/references.js';
import { ValetClientError } from './errors.js';
import type { ValetClient } from './valet-client.js';

export interface UploadFileOptions {
  /** Args of the mutation that makes the upload URL. */
  args?: Record<string, unknown>;
  /** Called as bytes go out: how many so far, and how many in all. */
  onProgress?: (sent: number, total: number) => void;
  signal?: AbortSignal;
}

type Answer = { status: number; body: unknown };

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return { code: 'unknown_error', message: text.slice(0, 200) || 'the upload failed' };
  }
}

function viaXhr(url: string, file: Blob, options: UploadFileOptions): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', url);
    xhr.setRequestHeader('Content-Type', file.type || 'application/octet-stream');
    xhr.upload.onprogress = (event) =>
      options.onProgress?.(event.loaded, event.lengthComputable ? event.total : file.size);
    xhr.onload = () => resolve({ status: xhr.status, body: parse(xhr.responseText) });
    xhr.onerror = () => reject(new ValetClientError('connection_lost', `the upload to ${url} failed to connect`));
    xhr.onabort = () => reject(new ValetClientError('upload_aborted', 'the upload was aborted'));
    options.signal?.addEventListener('abort', () => xhr.abort());
    xhr.send(file);
  });
}

async function viaFetch(url: string, file: Blob, options: UploadFileOptions): Promise<Answer> {
  let body: BodyInit = file;
  const init: RequestInit & { duplex?: 'half' } = { method: 'POST', signal: options.signal };
  if (options.onProgress) {
    // A counted stream: progress as fetch reads it (sent without a length; the server bounds it as it arrives).
    let sent = 0;
    const counted = file.stream().pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          sent += chunk.byteLength;
          options.onProgress!(sent, file.size);
          controller.enqueue(chunk);
        },
      }),
    );
    body = counted as BodyInit;
    init.duplex = 'half';
  }
  let response: Response;
  try {
    response = await fetch(url, {
      ...init,
      headers: { 'content-type': file.type || 'application/octet-stream' },
      body,
    });
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw new ValetClientError('upload_aborted', 'the upload was aborted');
    throw new ValetClientError('connection_lost', `the upload to ${url} failed: ${(error as Error).message}`);
  }
  return { status: response.status, body: parse(await response.text()) };
}

/** Uploads `file` through the upload URL `generateUploadUrl` makes; resolves with the stored file's id. */
export async function uploadFile(
  client: ValetClient,
  generateUploadUrl: FunctionReference<'mutation'>,
  file: Blob,
  options: UploadFileOptions = {},
): Promise<string> {
  const made = (await (client.mutation as (ref: unknown, args: unknown) => Promise<unknown>)(
    generateUploadUrl,
    options.args ?? {},
  )) as string;
  if (typeof made !== 'string')
    throw new ValetClientError('invalid_upload_url', `${generateUploadUrl.path} did not return an upload URL`);
  const url = new URL(made, `${client.url}/`).toString();
  const { status, body } =
    typeof XMLHttpRequest === 'undefined' ? await viaFetch(url, file, options) : await viaXhr(url, file, options);
  if (status !== 200) throw ValetClientError.from(body, status);
  return (body as { storageId: string }).storageId;
}
