// /admin/migrations: the data migrations with their state (GET), and running them (POST
// /admin/migrations/run { name?, dryRun?, restart? }): a dry run answers with what it would
// change; a real run starts in this server's background (one after another when no name is
// given) and answers 202 at once — its progress is in GET, the CLI and the dashboard poll it.
import { EngineError } from '../runtime/errors.js';
import { listMigrations } from '../runtime/migrations/store.js';
import { engineOf, jsonReply, parseJsonBody, requireJson } from './respond.js';
import type { HttpContext, HttpReply, HttpRequest } from './types.js';

export async function routeAdminMigrations(
  context: HttpContext,
  request: HttpRequest,
  path: string,
): Promise<HttpReply | null> {
  if (path === '/admin/migrations' && request.method === 'GET') {
    const engine = engineOf(context);
    const defined = new Map([...engine.registry.migrations].map(([name, m]) => [name, { table: m.table }]));
    const migrations = await listMigrations(engine.connections.autoCommit.sql, defined);
    return jsonReply(200, { migrations, runningHere: engine.migrations.running() });
  }
  if (path !== '/admin/migrations/run') return null;
  if (request.method !== 'POST') throw new EngineError('method_not_allowed', 'use POST for /admin/migrations/run');
  requireJson(request.headers['content-type'], path);
  const body = parseJsonBody((await request.readBody()).toString('utf8'), path);
  const { name, dryRun, restart } = body as { name?: unknown; dryRun?: unknown; restart?: unknown };
  if (name !== undefined && (typeof name !== 'string' || name === ''))
    throw new EngineError('invalid_request', `${path}: name must be a migration's name (module:export)`);
  for (const [key, value] of Object.entries({ dryRun, restart }))
    if (value !== undefined && typeof value !== 'boolean')
      throw new EngineError('invalid_request', `${path}: ${key} must be true or false`);
  const engine = engineOf(context);
  const names = name ? [name as string] : await pendingNames(context);
  if (dryRun) {
    const outcomes = [];
    for (const each of names) outcomes.push(await engine.migrations.run(each, { dryRun: true }));
    return jsonReply(200, { outcomes });
  }
  engine.migrations.startAll(names, { restart: restart === true });
  return jsonReply(202, { started: names });
}

/** Every defined migration not finished yet, in the order valet/ defines them. */
async function pendingNames(context: HttpContext): Promise<string[]> {
  const engine = engineOf(context);
  const defined = new Map([...engine.registry.migrations].map(([name, m]) => [name, { table: m.table }]));
  const states = await listMigrations(engine.connections.autoCommit.sql, defined);
  return states.filter((state) => state.defined && state.status !== 'done').map((state) => state.name);
}
