// /admin/*: inspection over HTTP (invocations, outbox, cron runs, scheduled work); every route
// needs the admin key.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { EngineError } from '../runtime/errors.js';
import { getInvocation, listInvocations } from '../runtime/invocations.js';
import type { InvocationStatus } from '../runtime/invocations.js';
import { listCronRuns } from '../runtime/cron/runs.js';
import { getOutboxEmail, listOutbox, OUTBOX_STATUSES } from '../runtime/outbox-store.js';
import { listScheduled } from '../runtime/scheduled-runner.js';
import type { HttpContext } from './http.js';
import { engineOf, isAdmin, readBody, sendJson } from './http.js';

const STATUSES = new Set(['running', 'succeeded', 'failed', 'timeout']);

export async function routeAdmin(context: HttpContext, url: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (!isAdmin(context, req)) throw new EngineError('admin_key_invalid', 401, 'admin endpoints need X-Valet-Admin-Key (see .valet/admin-key)');
  if (url.pathname === '/admin/cron/trigger' && req.method === 'POST') {
    const { job } = JSON.parse((await readBody(req)) || '{}') as { job?: string };
    try {
      return sendJson(res, 200, await engineOf(context).crons.trigger(String(job)));
    } catch (error) {
      throw new EngineError('not_found', 404, (error as Error).message);
    }
  }
  if (req.method !== 'GET') throw new EngineError('method_not_allowed', 405, `use GET for ${url.pathname}`);
  const db = engineOf(context).connections.autoCommitReader.db;
  if (url.pathname === '/admin/invocations') {
    const status = url.searchParams.get('status');
    if (status && !STATUSES.has(status)) throw new EngineError('invalid_request', 400, `status must be one of ${[...STATUSES].join(', ')}`);
    const limit = Number(url.searchParams.get('limit') ?? 50);
    return sendJson(res, 200, {
      invocations: listInvocations(db, { function: url.searchParams.get('function') ?? undefined, status: (status as InvocationStatus) ?? undefined, limit }),
    });
  }
  if (url.pathname === '/admin/outbox') {
    const status = url.searchParams.get('status');
    if (status && !OUTBOX_STATUSES.includes(status as never)) throw new EngineError('invalid_request', 400, `status must be one of ${OUTBOX_STATUSES.join(', ')}`);
    return sendJson(res, 200, { emails: listOutbox(db, { status: (status as never) ?? undefined, limit: Number(url.searchParams.get('limit') ?? 50) }) });
  }
  const email = /^\/admin\/outbox\/([\w-]+)$/.exec(url.pathname);
  if (email) {
    const found = getOutboxEmail(db, email[1]!);
    if (!found) throw new EngineError('not_found', 404, `no email ${email[1]}`);
    return sendJson(res, 200, found);
  }
  if (url.pathname === '/admin/cron/runs') {
    return sendJson(res, 200, { runs: listCronRuns(db, { job: url.searchParams.get('job') ?? undefined, limit: Number(url.searchParams.get('limit') ?? 50) }) });
  }
  if (url.pathname === '/admin/scheduled') return sendJson(res, 200, { scheduled: listScheduled(db, { status: url.searchParams.get('status') ?? undefined }) });
  const one = /^\/admin\/invocations\/([\w-]+)$/.exec(url.pathname);
  if (one) {
    const invocation = getInvocation(db, one[1]!);
    if (!invocation) throw new EngineError('not_found', 404, `no invocation ${one[1]}`);
    return sendJson(res, 200, invocation);
  }
  throw new EngineError('not_found', 404, `nothing at ${url.pathname}`);
}
