// /admin/*: inspection over HTTP (invocations, outbox, cron runs, scheduled work) and a cron
// trigger, for the CLI and the dashboard. Every route needs the admin key; none answers a page of
// another origin (no CORS headers ever); bad parameters are 400s naming the parameter.
import { isStorableText, textProblem } from '../protocol/text.js';
import { isInvocationStatus, INVOCATION_STATUSES } from '../runtime/invocations/statuses.js';
import { getInvocation, listInvocations } from '../runtime/invocations/store.js';
import { listCronRuns } from '../runtime/cron/runs.js';
import { EngineError } from '../runtime/errors.js';
import { isOutboxChannel, isOutboxStatus, OUTBOX_CHANNELS, OUTBOX_STATUSES } from '../runtime/outbox/statuses.js';
import { getOutboxEmail, listOutbox, listPushSubscriptions } from '../runtime/outbox/store.js';
import { isScheduledStatus, SCHEDULED_STATUSES } from '../runtime/scheduler/statuses.js';
import { listScheduled } from '../runtime/scheduler/store.js';
import { routeAdminApp } from './admin-app-routes.js';
import { routeAdminAgent } from './admin-agent-routes.js';
import { routeAdminCalls } from './admin-call-routes.js';
import { routeAdminAuth } from './admin-auth-routes.js';
import { routeAdminMigrations } from './admin-migration-routes.js';
import { isAdminRequest } from './api-routes.js';
import { engineOf, jsonReply, parseJsonBody, requireJson } from './respond.js';
import type { HttpContext, HttpReply, HttpRequest } from './types.js';

const MAX_LIMIT = 1000;

function limitParam(params: URLSearchParams): number {
  const text = params.get('limit');
  if (text === null) return 50;
  const limit = Number(text);
  if (!/^\d+$/.test(text) || !Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw new EngineError(
      'invalid_request',
      `limit must be an integer from 1 to ${MAX_LIMIT}, got ${JSON.stringify(text)}`,
    );
  }
  return limit;
}

function statusParam<T extends string>(
  params: URLSearchParams,
  valid: (value: string) => value is T,
  all: readonly string[],
  name = 'status',
): T | undefined {
  const value = params.get(name);
  if (value === null) return undefined;
  if (!valid(value))
    throw new EngineError('invalid_request', `${name} must be one of ${all.join(', ')}, got ${JSON.stringify(value)}`);
  return value;
}

/** Parameters and path segments are compared with stored text: the text rule, as for call args. */
function refuseUnstorableText(url: URL): void {
  for (const [name, value] of url.searchParams) {
    if (!isStorableText(name) || !isStorableText(value))
      throw new EngineError(
        'invalid_request',
        `query parameter ${JSON.stringify(name)} ${textProblem(isStorableText(name) ? value : name)}`,
      );
  }
  let path: string;
  try {
    path = decodeURIComponent(url.pathname);
  } catch {
    throw new EngineError('invalid_request', 'the path is not valid percent-encoded UTF-8');
  }
  if (!isStorableText(path)) throw new EngineError('invalid_request', `the path ${textProblem(path)}`);
}

export async function routeAdmin(context: HttpContext, request: HttpRequest): Promise<HttpReply> {
  if (!isAdminRequest(context, request))
    throw new EngineError('admin_key_invalid', 'admin endpoints need X-Valet-Admin-Key (see .valet/admin-key)');
  const url = new URL(request.url, 'http://localhost');
  const params = url.searchParams;
  const path = url.pathname;
  refuseUnstorableText(url);
  const calls = await routeAdminCalls(context, request.method, url);
  if (calls) return calls;
  const migrations = await routeAdminMigrations(context, request, path);
  if (migrations) return migrations;
  const auth = await routeAdminAuth(context, request, url);
  if (auth) return auth;
  const agent = await routeAdminAgent(context, request, path);
  if (agent) return agent;
  const app = await routeAdminApp(context, request, url);
  if (app) return app;
  if (path === '/admin/cron/trigger') {
    if (request.method !== 'POST') throw new EngineError('method_not_allowed', 'use POST for /admin/cron/trigger');
    requireJson(request.headers['content-type'], path);
    const { job } = parseJsonBody((await request.readBody()).toString('utf8'), path);
    if (typeof job !== 'string' || job === '')
      throw new EngineError('invalid_request', '/admin/cron/trigger: give { "job": "<job name>" }');
    const crons = engineOf(context).crons;
    if (!crons.jobs().some((entry) => entry.job.name === job)) {
      throw new EngineError(
        'not_found',
        `no cron job "${job}" (jobs: ${
          crons
            .jobs()
            .map((entry) => entry.job.name)
            .join(', ') || 'none'
        })`,
      );
    }
    return jsonReply(200, await crons.trigger(job));
  }
  if (request.method !== 'GET') throw new EngineError('method_not_allowed', `use GET for ${path}`);
  const db = engineOf(context).connections.autoCommit.sql;
  if (path === '/admin/invocations') {
    const status = statusParam(params, isInvocationStatus, INVOCATION_STATUSES);
    const since = params.get('since');
    if (since !== null && !/^\d+$/.test(since))
      throw new EngineError(
        'invalid_request',
        `since must be a time in ms since the epoch, got ${JSON.stringify(since)}`,
      );
    return jsonReply(200, {
      invocations: await listInvocations(db, {
        function: params.get('function') ?? undefined,
        status,
        since: since === null ? undefined : Number(since),
        limit: limitParam(params),
      }),
    });
  }
  if (path === '/admin/outbox') {
    const status = statusParam(params, isOutboxStatus, OUTBOX_STATUSES);
    const channel = statusParam(params, isOutboxChannel, OUTBOX_CHANNELS, 'channel');
    const messages = await listOutbox(db, { status, channel, limit: limitParam(params) });
    // `emails` is kept for clients written before push existed; `messages` is the same list.
    return jsonReply(200, { messages, emails: messages });
  }
  if (path === '/admin/push/subscriptions')
    return jsonReply(200, {
      subscriptions: await listPushSubscriptions(db, {
        userId: params.get('user') ?? undefined,
        limit: limitParam(params),
      }),
    });
  if (path === '/admin/cron/runs')
    return jsonReply(200, {
      runs: await listCronRuns(db, { job: params.get('job') ?? undefined, limit: limitParam(params) }),
    });
  if (path === '/admin/scheduled') {
    const status = statusParam(params, isScheduledStatus, SCHEDULED_STATUSES);
    return jsonReply(200, { scheduled: await listScheduled(db, { status, limit: limitParam(params) }) });
  }
  const email = /^\/admin\/outbox\/([\w-]+)$/.exec(path);
  if (email) {
    const found = await getOutboxEmail(db, email[1]!);
    if (!found) throw new EngineError('not_found', `no email ${email[1]}`);
    return jsonReply(200, found);
  }
  const one = /^\/admin\/invocations\/([\w-]+)$/.exec(path);
  if (one) {
    const invocation = await getInvocation(db, one[1]!);
    if (!invocation) throw new EngineError('not_found', `no invocation ${one[1]}`);
    return jsonReply(200, invocation);
  }
  throw new EngineError('not_found', `nothing at ${path}`);
}
