// /admin/calls (the activity log: every call, filtered; one call with its whole trace),
// /admin/metrics (Prometheus text, or JSON for the dashboard's charts) and /admin/source (the
// lines of one file under valet/, for a call's page to show where it failed). Admin key only,
// like every /admin route.
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join, sep } from 'node:path';
import { callFilterOf } from '../runtime/calls/filter-params.js';
import { prometheusText } from '../runtime/calls/prometheus.js';
import type { CallRecord } from '../runtime/calls/record.js';
import { EngineError } from '../runtime/errors.js';
import { engineOf, jsonReply } from './respond.js';
import type { HttpContext, HttpReply } from './types.js';

/** A listing row: the record without its lines and events (a call's page has those). */
function summaryOf(record: CallRecord) {
  const { logs, events, ...rest } = record;
  return { ...rest, lines: logs.length, events: events.length };
}

/** The text of one file of the app's valet/ folder, never anything outside it (links included). */
function sourceOf(appDir: string, file: string): { file: string; text: string } {
  if (!/^valet\/[\w@./-]+\.(ts|tsx|mts|cts|js|jsx|mjs|cjs)$/.test(file) || file.split('/').includes('..'))
    throw new EngineError('invalid_request', `file must be a source file under valet/, got ${JSON.stringify(file)}`);
  const root = realpathSync(join(appDir, 'valet'));
  const path = join(appDir, file);
  if (!existsSync(path) || !statSync(path).isFile()) throw new EngineError('not_found', `no file ${file}`);
  const real = realpathSync(path);
  if (!real.startsWith(root + sep)) throw new EngineError('not_found', `no file ${file}`);
  if (statSync(real).size > 1024 * 1024) throw new EngineError('invalid_request', `${file} is larger than 1 MiB`);
  return { file, text: readFileSync(real, 'utf8') };
}

export async function routeAdminCalls(context: HttpContext, method: string, url: URL): Promise<HttpReply | null> {
  const path = url.pathname;
  const params = url.searchParams;
  if (method !== 'GET') return null;
  if (path === '/admin/calls') {
    const calls = await engineOf(context).calls.list(callFilterOf(params));
    return jsonReply(200, { calls: calls.map(summaryOf) });
  }
  const one = /^\/admin\/calls\/([\w-]{1,64})$/.exec(path);
  if (one) {
    const engine = engineOf(context);
    const call = await engine.calls.get(one[1]!);
    if (!call)
      throw new EngineError(
        'not_found',
        `no call ${one[1]} (calls are kept ${engine.calls.settings.store === 'memory' ? `in memory, the last ${engine.calls.settings.ringSize.toLocaleString('en')}` : 'for the retention window'})`,
      );
    return jsonReply(200, { call, trace: await engine.calls.trace(call.root) });
  }
  if (path === '/admin/metrics') {
    const engine = engineOf(context);
    const subscriptions = context.subscriptions?.() ?? new Map<string, number>();
    if (params.get('format') === 'json') return jsonReply(200, { functions: engine.metrics.summary(subscriptions) });
    return {
      status: 200,
      headers: ['content-type', 'text/plain; version=0.0.4; charset=utf-8'],
      body: prometheusText(engine.metrics, subscriptions),
    };
  }
  if (path === '/admin/source') {
    if (!context.dashboard)
      throw new EngineError('not_found', 'this server has no dashboard (valet start serves it with --dashboard)');
    return jsonReply(200, sourceOf(context.dashboard.appDir, params.get('file') ?? ''));
  }
  return null;
}
