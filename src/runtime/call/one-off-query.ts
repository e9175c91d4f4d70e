// A one-off read-only query an agent writes (`valet mcp`'s `query` tool): a function body over
// `ctx.db`, run as a query — in one read snapshot, with the fetch guard's refusal of fetch, a
// time limit and a cap on the rows it returns. Writes, scheduling, email and fetch are refused
// with a message that says so. It runs in a context of its own (no require, process or
// globals of the server), which keeps honest code honest; it is no sandbox against hostile code,
// which is why only `valet dev` and the developer's own `valet mcp` process run it.
import { Script, createContext } from 'node:vm';
import type { Invoker } from '../../server/ctx.js';
import type { AnyFunctionDefinition } from '../../server/functions.js';
import { EngineError } from '../errors.js';
import { errorToResponse } from './errors-to-response.js';
import { runQuery } from './run-query.js';
import type { EngineCore } from './types.js';

export const ONE_OFF_PATH = '(one-off query)';
const MCP: Invoker = { type: 'system', source: 'mcp' };
const WRITES = new Set(['insert', 'insertOrIgnore', 'patch', 'replace', 'delete', 'transaction']);
const MAX_SOURCE = 20_000;

export interface OneOffOptions {
  /** Milliseconds the query may take (default 5000, at most 30000). */
  timeoutMs?: number;
  /** Rows (array items) returned at most (default 100, at most 1000); the rest are cut. */
  rowLimit?: number;
}

export type OneOffResult =
  | { ok: true; value: unknown; truncated: boolean; rows: number | null; callId: string }
  | { ok: false; error: { code: string; message: string }; callId: string };

function refuse(what: string): never {
  throw new EngineError(
    'invalid_request',
    `one-off queries are read-only: ${what} is not available here (run a mutation with the run tool, which needs --allow-writes)`,
  );
}

/** The query's ctx, with every write, schedule, email and call refused by name. */
function readOnly(ctx: Record<string, unknown>): Record<string, unknown> {
  const db = new Proxy(ctx.db as object, {
    get(target, name, receiver) {
      if (typeof name === 'string' && WRITES.has(name)) refuse(`ctx.db.${name}`);
      return Reflect.get(target, name, receiver);
    },
  });
  return new Proxy(ctx, {
    get(target, name, receiver) {
      if (name === 'db') return db;
      if (typeof name === 'string' && !(name in target)) refuse(`ctx.${name}`);
      return Reflect.get(target, name, receiver);
    },
  });
}

/** Either a function (`async (ctx) => …`) or the body of one (`return await ctx.db.query('users').take(5)`). */
function wrap(source: string): string {
  const trimmed = source.trim();
  const isFunction = /^(async\s+)?(\(\s*ctx\s*\)|ctx)\s*=>/.test(trimmed) || /^async\s+function\b/.test(trimmed);
  return isFunction ? `(${trimmed})(__ctx)` : `(async (ctx) => {\n${trimmed}\n})(__ctx)`;
}

export async function runOneOffQuery(
  core: EngineCore,
  source: string,
  options: OneOffOptions = {},
): Promise<OneOffResult> {
  const timeoutMs = Math.min(Math.max(options.timeoutMs ?? 5_000, 1), 30_000);
  const rowLimit = Math.min(Math.max(options.rowLimit ?? 100, 1), 1_000);
  const record = core.calls.begin({ kind: 'query', path: ONE_OFF_PATH, source: 'mcp', caller: 'system:mcp' });
  const started = performance.now();
  try {
    if (typeof source !== 'string' || source.trim() === '' || source.length > MAX_SOURCE)
      throw new EngineError('invalid_request', `source must be the body of a query (1 to ${MAX_SOURCE} characters)`);
    let script: Script;
    try {
      script = new Script(wrap(source), { filename: 'one-off-query.js' });
    } catch (error) {
      throw new EngineError('invalid_request', `the query does not parse: ${(error as Error).message}`);
    }
    const definition = {
      kind: 'query',
      access: 'system',
      args: {},
      handler: (ctx: Record<string, unknown>) => {
        const sandbox = createContext({
          __ctx: readOnly(ctx),
          fetch: () => refuse('fetch'),
          console: { log: console.log, info: console.info, warn: console.warn, error: console.error },
        });
        // The synchronous part is bounded here; what follows an await, by the query's deadline.
        return script.runInContext(sandbox, { timeout: timeoutMs });
      },
    } as unknown as AnyFunctionDefinition;
    const value = await runQuery({ ...core, functionTimeoutMs: timeoutMs }, ONE_OFF_PATH, definition, {}, MCP, record);
    const rows = Array.isArray(value) ? value.length : null;
    const truncated = rows !== null && rows > rowLimit;
    core.calls.finish(record, performance.now() - started, null);
    return {
      ok: true,
      value: truncated ? (value as unknown[]).slice(0, rowLimit) : value,
      truncated,
      rows,
      callId: record.id,
    };
  } catch (error) {
    const { body } = errorToResponse(error, true);
    const failure = { code: body.code, message: core.redact(body.message) };
    core.calls.finish(record, performance.now() - started, failure);
    return { ok: false, error: failure, callId: record.id };
  }
}
