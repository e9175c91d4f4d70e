// `valet run` as a programmatic API: call one function as admin, through the app's running
// server when there is one, else in-process on the database. Either way the developer sees the
// real error message (it is their own terminal) and the function's console output on stderr.
import { analyseApp } from '../codegen/analyse.js';
import { UserError } from '../errors/user-error.js';
import { ACT_AS_SYNTAX, parseActAs } from '../protocol/act-as.js';
import type { FunctionKind } from '../server/functions.js';
import { throughServerOrInProcess } from './server-or-local.js';

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

/** The function's kind, from the same static analysis codegen uses (no build needed). */
function kindOf(appDir: string, path: string): FunctionKind {
  const model = analyseApp(appDir);
  const all = model.modules.flatMap((m) => m.functions.map((f) => ({ path: `${m.path}:${f.name}`, kind: f.kind })));
  const found = all.find((f) => f.path === path);
  if (!found)
    throw new UserError(
      `no function ${path} in valet/${
        all.length
          ? ` (functions: ${all
              .slice(0, 12)
              .map((f) => f.path)
              .join(', ')}${all.length > 12 ? ', …' : ''})`
          : ''
      }`,
    );
  return found.kind;
}

export async function runFunction(options: RunOptions): Promise<RunResult> {
  const kind = kindOf(options.appDir, options.path);
  const invoker = parseActAs(options.as);
  if (!invoker) throw new UserError(`--as must be ${ACT_AS_SYNTAX}, got "${options.as}"`, { exitCode: 2 });
  return throughServerOrInProcess(
    options.appDir,
    {
      async viaServer(server) {
        const headers: Record<string, string> = {
          'content-type': 'application/json',
          'x-valet-as': options.as ?? 'system',
        };
        if (options.idempotencyKey) headers['idempotency-key'] = options.idempotencyKey;
        const response = await server.fetch(`/api/${kind}`, {
          method: 'POST',
          headers,
          body: JSON.stringify({ path: options.path, args: options.args }),
        });
        return { status: response.status, body: await response.json() };
      },
      async inProcess(engine) {
        const response = await engine.call({
          kind,
          path: options.path,
          args: options.args,
          invoker,
          external: false,
          idempotencyKey: options.idempotencyKey ?? null,
          exposeErrors: true,
        });
        return { status: response.status, body: response.body };
      },
    },
    options.env,
  );
}
