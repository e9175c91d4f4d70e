// /admin/files: the stored files for the dashboard's Files page — newest first with a URL each
// (same-origin path: the page shows images and text in a sandboxed frame), an upload URL for the
// page to POST a file to, and deletes through a mutation (so clients' live queries follow).
import type { Invoker } from '../server/ctx.js';
import type { Engine } from '../runtime/engine.js';
import { EngineError } from '../runtime/errors.js';
import { listFiles } from '../runtime/files/store.js';
import { fileDocument } from '../runtime/files/system-table.js';
import { jsonReply } from './respond.js';
import type { HttpReply } from './types.js';

const ADMIN: Invoker = { type: 'system', source: 'admin' };
const MAX_LISTED = 500;

/** The path and query of a URL: where the dashboard's own origin serves it. */
function samePath(url: string): string {
  const parsed = new URL(url, 'http://localhost');
  return `${parsed.pathname}${parsed.search}`;
}

export async function routeAdminFiles(
  engine: Engine,
  method: string,
  path: string,
  params: URLSearchParams,
): Promise<HttpReply | null> {
  if (path === '/admin/files' && method === 'GET') {
    const limit = Math.min(Math.max(Number(params.get('limit') ?? 200) || 200, 1), MAX_LISTED);
    const rows = await listFiles(engine.connections.autoCommit.sql, { descending: true, limit });
    return jsonReply(200, {
      files: rows.map((row) => ({ ...fileDocument(row), url: samePath(engine.files.fileUrl(row.id)) })),
      maxUploadBytes: engine.files.maxUploadBytes,
      store: engine.files.blobs.description,
    });
  }
  if (path === '/admin/files/upload-url' && method === 'POST') {
    const url = await engine.runInMutation('dashboard:upload', ADMIN, (ctx) => ctx.storage.generateUploadUrl());
    return jsonReply(200, { url: samePath(url as string) });
  }
  const one = /^\/admin\/files\/([0-9a-z]+)$/.exec(path);
  if (one && method === 'DELETE') {
    await engine.runInMutation('dashboard:delete-file', ADMIN, async (ctx) => {
      try {
        await ctx.storage.delete(one[1]!);
      } catch (error) {
        if (error instanceof EngineError && error.code === 'file_not_found')
          throw new EngineError('not_found', `no stored file ${one[1]} (deleted meanwhile?)`);
        throw error;
      }
    });
    return jsonReply(200, { ok: true });
  }
  return null;
}
