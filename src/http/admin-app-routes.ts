// /admin/* for what the dashboard shows beyond the logs of background work: the app's functions
// (with an argument check as you type), re-running an invocation, the functions' console output,
// the documents (paged through the engine, written through mutations so live queries update), the
// cron jobs, and the writes on outbox and scheduled rows. The same admin key and rules as
// admin-routes.ts; the CLI's inspection commands read the same stores.
import { decodeValue, encodeValue } from '../protocol/values.js';
import type { Invoker } from '../server/ctx.js';
import type { AnyFunctionDefinition } from '../server/functions.js';
import type { PropertyValidators } from '../server/values.js';
import { exampleArgs } from '../runtime/call/example-args.js';
import { objectSchema, validatorSchema } from '../runtime/call/json-schema.js';
import { locateInApp } from '../runtime/registry.js';
import type { MapStack } from '../runtime/registry.js';
import { validateArgs } from '../runtime/call/resolve.js';
import { describeCronJobs } from '../runtime/cron/describe.js';
import type { Engine } from '../runtime/engine.js';
import { EngineError } from '../runtime/errors.js';
import { ERROR_CODES } from '../protocol/error-codes.js';
import { readRecentLogs } from '../runtime/function-logs.js';
import { getInvocation, markRerun } from '../runtime/invocations/store.js';
import { retryEmails } from '../runtime/outbox/store.js';
import { cancelScheduled } from '../runtime/scheduler/store.js';
import { listTables, storedRows, tableOfDocument } from '../storage/browse.js';
import type { StoredRow } from '../storage/browse.js';
import { storageFaultOf } from '../storage/faults.js';
import { routeAdminFiles } from './admin-file-routes.js';
import { engineOf, jsonReply, parseJsonBody, requireJson } from './respond.js';
import type { HttpContext, HttpReply, HttpRequest } from './types.js';

const ADMIN: Invoker = { type: 'system', source: 'admin' };

async function jsonBody(request: HttpRequest, path: string): Promise<Record<string, unknown>> {
  requireJson(request.headers['content-type'], path);
  const body = parseJsonBody((await request.readBody()).toString('utf8'), path);
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw new EngineError('invalid_request', `${path}: send a JSON object`);
  return body as Record<string, unknown>;
}

function describeFunction(path: string, definition: AnyFunctionDefinition, mapStack: MapStack) {
  const action = definition as AnyFunctionDefinition & { sensitive?: boolean; safeToRetry?: boolean };
  return {
    path,
    module: path.slice(0, path.lastIndexOf(':')),
    name: path.slice(path.lastIndexOf(':') + 1),
    kind: definition.kind,
    access: definition.access,
    args: Object.entries(definition.args).map(([name, validator]) => ({
      name,
      type: validator.description,
      optional: validator.isOptional,
    })),
    returns: definition.returns?.description ?? null,
    /** Args that pass the validators (required fields only): the run form starts from them. */
    example: exampleArgs(definition.args),
    /** The validators as JSON Schema (valet mcp's functions tool). */
    argsSchema: objectSchema(definition.args),
    returnsSchema: definition.returns ? validatorSchema(definition.returns) : null,
    /** Where it is defined in valet/. */
    location: locateInApp(definition.definedAt, mapStack) ?? null,
    sensitive: action.sensitive ?? false,
    safeToRetry: action.safeToRetry ?? false,
  };
}

function tableOf(
  engine: Engine,
  table: string,
): {
  name: string;
  indexes: { name: string; fields: readonly string[] }[];
  searchIndexes: { name: string; searchField: string; filterFields: readonly string[] }[];
  fields: { name: string; type: string; optional: boolean }[];
} {
  const schema = engine.registry.schema;
  const definition = schema?.tables[table];
  if (!definition)
    throw new EngineError(
      'not_found',
      `no table "${table}" in valet/schema.ts (tables: ${Object.keys(schema?.tables ?? {}).join(', ') || 'none'})`,
    );
  return {
    name: table,
    indexes: [...definition.indexes],
    searchIndexes: [...definition.searchIndexes],
    // The grid's columns, in the schema's order.
    fields: Object.entries(definition.fields as PropertyValidators).map(([name, validator]) => ({
      name,
      type: validator.description,
      optional: validator.isOptional,
    })),
  };
}

async function tableCounts(engine: Engine) {
  // PostgreSQL's count(*) is a bigint, which pg hands over as a string.
  const counts = new Map(
    (await listTables(engine.connections.autoCommit.sql)).map((row) => [row.table, Number(row.documents)]),
  );
  const declared = Object.keys(engine.registry.schema?.tables ?? {});
  const names = [...new Set([...declared, ...counts.keys()])].sort();
  return names.map((name) => ({
    name,
    documents: counts.get(name) ?? 0,
    declared: declared.includes(name),
    indexes: declared.includes(name) ? tableOf(engine, name).indexes : [],
    searchIndexes: declared.includes(name) ? tableOf(engine, name).searchIndexes : [],
    fields: declared.includes(name) ? tableOf(engine, name).fields : [],
  }));
}

/** One page of the documents a search of a table finds, most relevant first. */
async function searchPage(engine: Engine, table: string, params: URLSearchParams, text: string) {
  const { searchIndexes } = tableOf(engine, table);
  const name = params.get('searchIndex') ?? searchIndexes[0]?.name;
  const index = searchIndexes.find((entry) => entry.name === name);
  if (!index)
    throw new EngineError(
      'invalid_request',
      `table "${table}" has no search index${name ? ` "${name}"` : ''} (search indexes: ${searchIndexes.map((entry) => entry.name).join(', ') || 'none'})`,
    );
  const numItems = Math.min(Math.max(Number(params.get('limit') ?? 25) || 25, 1), 200);
  const cursor = params.get('cursor') || null;
  return engine.runInMutation('dashboard:data', ADMIN, async (ctx) => {
    const page = await ctx.db
      .query(table)
      .withSearchIndex(index.name, (q: any) => q.search(index.searchField, text))
      .paginate({ numItems, cursor });
    return {
      documents: page.page.map((doc: unknown) => encodeValue(doc)),
      isDone: page.isDone,
      continueCursor: page.continueCursor,
    };
  });
}

/**
 * One page of a table, newest first (or by an index, optionally equal to a value on its first
 * field; or what a search finds, with `search`).
 */
async function documentsPage(engine: Engine, table: string, params: URLSearchParams) {
  const text = params.get('search');
  if (text !== null && text.trim() !== '') return searchPage(engine, table, params, text);
  const { indexes } = tableOf(engine, table);
  const index = params.get('index');
  if (index !== null && !indexes.some((entry) => entry.name === index) && index !== 'by_creation_time') {
    throw new EngineError(
      'invalid_request',
      `table "${table}" has no index "${index}" (indexes: ${['by_creation_time', ...indexes.map((entry) => entry.name)].join(', ')})`,
    );
  }
  const order = params.get('order') === 'asc' ? 'asc' : 'desc';
  const numItems = Math.min(Math.max(Number(params.get('limit') ?? 25) || 25, 1), 200);
  const cursor = params.get('cursor') || null;
  const eqText = params.get('eq');
  let equals: unknown = undefined;
  if (eqText !== null) {
    try {
      equals = decodeValue(JSON.parse(eqText));
    } catch {
      throw new EngineError(
        'invalid_request',
        `eq must be a JSON value (a string in quotes), got ${JSON.stringify(eqText)}`,
      );
    }
  }
  const conditions = filterConditions(params.get('filter'));
  // Bounds on the index's first field (inclusive): `from`, `to`, as JSON values.
  const from = jsonParam(params, 'from');
  const to = jsonParam(params, 'to');
  if ((from !== undefined || to !== undefined) && (index === null || eqText !== null))
    throw new EngineError('invalid_request', 'from and to bound an index: give index, and no eq');
  return engine.runInMutation('dashboard:data', ADMIN, async (ctx) => {
    let query = ctx.db.query(table);
    if (index !== null) {
      const field =
        index === 'by_creation_time' ? '_creationTime' : indexes.find((entry) => entry.name === index)!.fields[0]!;
      query =
        eqText !== null
          ? query.withIndex(index, (q: any) => q.eq(field, equals))
          : from !== undefined || to !== undefined
            ? query.withIndex(index, (q: any) => {
                let range = q;
                if (from !== undefined) range = range.gte(field, from);
                if (to !== undefined) range = range.lte(field, to);
                return range;
              })
            : query.withIndex(index);
    }
    if (conditions.length > 0)
      query = query.filter((q: any) => q.and(...conditions.map((c) => q[c.op](q.field(c.field), c.value))));
    const page = await query.order(order).paginate({ numItems, cursor });
    return {
      documents: page.page.map((doc: unknown) => encodeValue(doc)),
      isDone: page.isDone,
      continueCursor: page.continueCursor,
    };
  });
}

/** A query parameter holding a JSON value (undefined when absent). */
function jsonParam(params: URLSearchParams, name: string): unknown {
  const text = params.get(name);
  if (text === null) return undefined;
  try {
    return decodeValue(JSON.parse(text));
  } catch {
    throw new EngineError(
      'invalid_request',
      `${name} must be a JSON value (a string in quotes), got ${JSON.stringify(text)}`,
    );
  }
}

const FILTER_OPS = ['eq', 'neq', 'lt', 'lte', 'gt', 'gte'] as const;
const MAX_FILTER_CONDITIONS = 10;

/**
 * The grid's filter builder: `[{ "field": "author.name", "op": "eq", "value": "ada" }, …]`, all
 * of them true — Convex's filter expressions, evaluated by the engine like a query's .filter().
 */
function filterConditions(text: string | null): { field: string; op: (typeof FILTER_OPS)[number]; value: unknown }[] {
  if (text === null || text === '') return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new EngineError('invalid_request', 'filter must be JSON: [{ "field", "op", "value" }, …]');
  }
  if (!Array.isArray(parsed) || parsed.length > MAX_FILTER_CONDITIONS)
    throw new EngineError('invalid_request', `filter must be a list of at most ${MAX_FILTER_CONDITIONS} conditions`);
  return parsed.map((entry, i) => {
    const { field, op, value } = (entry ?? {}) as Record<string, unknown>;
    if (typeof field !== 'string' || field === '' || field.length > 200)
      throw new EngineError('invalid_request', `filter[${i}].field must be a field name (a.b for a nested one)`);
    if (!FILTER_OPS.includes(op as never))
      throw new EngineError(
        'invalid_request',
        `filter[${i}].op must be one of ${FILTER_OPS.join(', ')}, got ${JSON.stringify(op)}`,
      );
    return { field, op: op as (typeof FILTER_OPS)[number], value: decodeValue(value) };
  });
}

function documentOf(body: Record<string, unknown>, path: string): Record<string, unknown> {
  const document = body.document;
  if (document === null || typeof document !== 'object' || Array.isArray(document))
    throw new EngineError('invalid_request', `${path}: give { "document": { … } }`);
  const { _id, _creationTime, ...fields } = decodeValue(document) as Record<string, unknown>;
  return fields;
}

/**
 * A document the schema refuses is the dashboard user's mistake here (a 400 with its message), where
 * in a handler it is the app's; a storage fault keeps its 503/507.
 */
async function asUserError<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    const fault = storageFaultOf(error);
    if (fault) throw fault;
    if (error instanceof EngineError && ERROR_CODES[error.code].fault !== 'app') throw error;
    throw new EngineError('invalid_document', (error as Error).message ?? String(error));
  }
}

/** One document a line, as the client sees it: `_id`, `_creationTime`, then the stored fields (already wire form). */
async function* exportLines(first: IteratorResult<StoredRow>, rest: AsyncGenerator<StoredRow>): AsyncGenerator<string> {
  const line = (row: StoredRow) =>
    `${JSON.stringify({ _id: row.id, _creationTime: row.creation_time, ...JSON.parse(row.doc) })}\n`;
  if (first.done) return;
  yield line(first.value);
  for await (const row of rest) yield line(row);
}

export async function routeAdminApp(context: HttpContext, request: HttpRequest, url: URL): Promise<HttpReply | null> {
  const path = url.pathname;
  const params = url.searchParams;
  const method = request.method;
  if (path === '/admin/dashboard/link' && method === 'POST') {
    if (!context.dashboard)
      throw new EngineError('not_found', 'this server has no dashboard (valet start serves it with --dashboard)');
    return jsonReply(200, { url: context.dashboard.access.issueLink(context.dashboard.baseUrl()) });
  }
  if (path === '/admin/logs' && method === 'GET') {
    const logsFile = context.dashboard?.logsFile;
    if (!logsFile) return jsonReply(200, { logs: [] });
    const level = params.get('level');
    const text = params.get('q')?.toLowerCase();
    const invocation = params.get('invocation');
    const call = params.get('call');
    const limit = Math.min(Math.max(Number(params.get('limit') ?? 200) || 200, 1), 2000);
    const logs = readRecentLogs(logsFile, 20_000, params.get('function') ?? undefined).filter(
      (entry) =>
        (!level || entry.level === level) &&
        (!invocation || entry.invocation === invocation) &&
        (!call || entry.call === call) &&
        (!text || entry.message.toLowerCase().includes(text)),
    );
    return jsonReply(200, { logs: logs.slice(-limit) });
  }
  const engine = engineOf(context);
  if (path === '/admin/functions' && method === 'GET') {
    const functions = [...engine.registry.functions]
      .map(([name, definition]) => describeFunction(name, definition, engine.mapStack))
      .sort((a, b) => a.path.localeCompare(b.path));
    return jsonReply(200, { functions });
  }
  if (path === '/admin/functions/validate' && method === 'POST') {
    const body = await jsonBody(request, path);
    const definition = engine.registry.functions.get(String(body.path));
    if (!definition) throw new EngineError('function_not_found', `no function ${String(body.path)}`);
    try {
      await validateArgs(definition, body.args, engine.connections.autoCommit);
      return jsonReply(200, { ok: true });
    } catch (error) {
      if (error instanceof EngineError) return jsonReply(200, { ok: false, message: error.message });
      throw error;
    }
  }
  const rerun = /^\/admin\/invocations\/([\w-]+)\/rerun$/.exec(path);
  if (rerun && method === 'POST') {
    const body = await jsonBody(request, path);
    const original = await getInvocation(engine.connections.autoCommit.sql, rerun[1]!);
    if (!original) throw new EngineError('not_found', `no invocation ${rerun[1]}`);
    if (body.args === undefined && original.sensitive)
      throw new EngineError(
        'invalid_request',
        `${original.function} is sensitive: its args were not kept, so give them to re-run it`,
      );
    const args = body.args === undefined ? original.args : body.args;
    const response = await engine.call({
      kind: 'action',
      path: original.function,
      args,
      invoker: original.invoker as Invoker,
      external: false,
      exposeErrors: true,
      source: request.headers['x-valet-source'] === 'mcp' ? 'mcp' : 'dashboard',
    });
    const id = response.headers['valet-invocation-id'];
    if (id) await markRerun(engine.connections.autoCommit.sql, id, original.id);
    return jsonReply(200, { invocationId: id ?? null, status: response.status, body: response.body });
  }
  if (path === '/admin/crons' && method === 'GET')
    return jsonReply(200, { jobs: await describeCronJobs(engine.registry.crons, engine.connections.autoCommit.sql) });
  const retry = /^\/admin\/outbox\/([\w-]+)\/retry$/.exec(path);
  if (retry && method === 'POST') {
    const queued = await engine.connections.inWriteTransaction((store) =>
      retryEmails(store.sql, { ids: [retry[1]!] }, engine.now()),
    );
    if (queued.length === 0)
      throw new EngineError('invalid_state', `message ${retry[1]} is not failed or dead (only those can be retried)`);
    engine.outbox.wake();
    return jsonReply(200, { queued });
  }
  const cancel = /^\/admin\/scheduled\/([\w-]+)\/cancel$/.exec(path);
  if (cancel && method === 'POST') {
    const canceled = await engine.connections.inWriteTransaction((store) =>
      cancelScheduled(store, cancel[1]!, engine.now()),
    );
    if (!canceled)
      throw new EngineError(
        'invalid_state',
        `scheduled call ${cancel[1]} is not pending (only pending calls can be canceled)`,
      );
    return jsonReply(200, { canceled: cancel[1] });
  }
  if (path === '/admin/data' && method === 'GET') return jsonReply(200, { tables: await tableCounts(engine) });
  const table = /^\/admin\/data\/(\w+)$/.exec(path);
  if (table && method === 'GET')
    return jsonReply(200, await asUserError(() => documentsPage(engine, table[1]!, params)));
  if (table && method === 'POST') {
    tableOf(engine, table[1]!);
    const fields = documentOf(await jsonBody(request, path), path);
    const id = await asUserError(() =>
      engine.runInMutation('dashboard:insert', ADMIN, (ctx) => ctx.db.insert(table[1]!, fields)),
    );
    return jsonReply(200, { id });
  }
  const exported = /^\/admin\/data\/(\w+)\/export$/.exec(path);
  if (exported && method === 'GET') {
    tableOf(engine, exported[1]!);
    const rows = storedRows(engine.connections.autoCommit.sql, exported[1]!);
    // The first page is read before answering, so an unreachable database still gets its 503.
    const first = await rows.next();
    return {
      status: 200,
      headers: [
        'content-type',
        'application/x-ndjson; charset=utf-8',
        'content-disposition',
        `attachment; filename="${exported[1]}.jsonl"`,
        'cache-control',
        'no-store',
      ],
      body: exportLines(first, rows),
    };
  }
  const one = /^\/admin\/data\/(\w+)\/([\w-]+)$/.exec(path);
  if (one && method === 'GET') {
    tableOf(engine, one[1]!);
    const found = await engine.runInMutation('dashboard:data', ADMIN, async (ctx) => {
      const doc = await ctx.db.get(one[2]!);
      const where = doc ? await tableOfDocument(engine.connections.autoCommit.sql, one[2]!) : null;
      return doc && where === one[1] ? encodeValue(doc) : null;
    });
    if (!found) throw new EngineError('not_found', `no document ${one[2]} in ${one[1]}`);
    return jsonReply(200, { document: found });
  }
  if (one && (method === 'PUT' || method === 'DELETE')) {
    tableOf(engine, one[1]!);
    const fields = method === 'PUT' ? documentOf(await jsonBody(request, path), path) : null;
    await asUserError(() =>
      engine.runInMutation('dashboard:write', ADMIN, async (ctx) => {
        const existing = await ctx.db.get(one[2]!);
        const where = existing ? await tableOfDocument(engine.connections.autoCommit.sql, one[2]!) : null;
        if (!existing || where !== one[1])
          throw new EngineError('not_found', `document ${one[2]} is not in ${one[1]} (deleted meanwhile?)`);
        if (fields) await ctx.db.replace(one[2]!, fields);
        else await ctx.db.delete(one[2]!);
      }),
    );
    return jsonReply(200, { ok: true });
  }
  return routeAdminFiles(engine, method, path, params);
}
