// `valet run` as a programmatic API: call one function as admin, through the app's running
// server when there is one (so its clients see the effect), else in-process on the database.
import { analyseApp } from '../codegen/analyse.js';
import type { FunctionKind } from '../server/functions.js';
import { loadOrCreateAdminKey } from '../runtime/dev-keys.js';
import { createEngine } from '../runtime/engine.js';
import { parseActAs } from '../runtime/invoker.js';
import { buildAndLoad } from './build.js';
import { databasePathOf, findRunningServer, stateDirOf } from './state.js';

export interface RunOptions {
  appDir: string;
  path: string;
  args: unknown;
  /** `system` (default), `anonymous` or `user:<id>`. */
  as?: string;
  idempotencyKey?: string;
  env?: NodeJS.ProcessEnv;
}

export interface RunResult {
  status: number;
  body: unknown;
  via: 'server' | 'in-process';
}

export class UnknownFunctionError extends Error {
  constructor(path: string, known: string[]) {
    super(`no function ${path} in valet/${known.length ? ` (functions: ${known.slice(0, 12).join(', ')}${known.length > 12 ? ', …' : ''})` : ''}`);
    this.name = 'UnknownFunctionError';
  }
}

/** The function's kind, from the same static analysis codegen uses (no build needed). */
function kindOf(appDir: string, path: string): FunctionKind {
  const model = analyseApp(appDir);
  const all = model.modules.flatMap((m) => m.functions.map((f) => ({ path: `${m.path}:${f.name}`, kind: f.kind })));
  const found = all.find((f) => f.path === path);
  if (!found) throw new UnknownFunctionError(path, all.map((f) => f.path));
  return found.kind;
}

export async function runFunction(options: RunOptions): Promise<RunResult> {
  const kind = kindOf(options.appDir, options.path);
  const invoker = parseActAs(options.as);
  if (!invoker) throw new Error(`--as must be system, anonymous or user:<id>, got "${options.as}"`);
  const server = await findRunningServer(options.appDir);
  if (server) {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'x-valet-admin-key': loadOrCreateAdminKey(stateDirOf(options.appDir)),
      'x-valet-as': options.as ?? 'system',
    };
    if (options.idempotencyKey) headers['idempotency-key'] = options.idempotencyKey;
    const response = await fetch(`${server}/api/${kind}`, { method: 'POST', headers, body: JSON.stringify({ path: options.path, args: options.args }) });
    return { status: response.status, body: await response.json(), via: 'server' };
  }
  const modules = await buildAndLoad(options.appDir);
  const engine = createEngine({ modules, dbPath: databasePathOf(options.appDir), env: options.env ?? process.env, log: () => undefined });
  try {
    const response = await engine.call({ kind, path: options.path, args: options.args, invoker, external: false, idempotencyKey: options.idempotencyKey ?? null });
    return { status: response.status, body: response.body, via: 'in-process' };
  } finally {
    await engine.close();
  }
}
