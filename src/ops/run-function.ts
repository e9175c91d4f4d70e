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

/**
 * The function's kind, from the same static analysis codegen uses (no build needed); null for a
 * function it cannot read (made by a wrapper), whose kind the server or the engine then knows.
 */
function staticKind(appDir: string, path: string): { kind: FunctionKind | null; known: string[] } {
  const model = analyseApp(appDir);
  const all = model.modules.flatMap((m) => m.functions.map((f) => ({ path: `${m.path}:${f.name}`, kind: f.kind })));
  return { kind: all.find((f) => f.path === path)?.kind ?? null, known: all.map((f) => f.path) };
}

function noSuchFunction(path: string, known: string[]): UserError {
  return new UserError(
    `no function ${path} in valet/${
      known.length ? ` (functions: ${known.slice(0, 12).join(', ')}${known.length > 12 ? ', …' : ''})` : ''
    }`,
  );
}

export async function runFunction(options: RunOptions): Promise<RunResult> {
  const found = staticKind(options.appDir, options.path);
  const invoker = parseActAs(options.as);
  if (!invoker) throw new UserError(`--as must be ${ACT_AS_SYNTAX}, got "${options.as}"`, { exitCode: 2 });
  return throughServerOrInProcess(
    options.appDir,
    {
      async viaServer(server) {
        let kind = found.kind;
        if (!kind) {
          const served = (await (await server.fetch('/admin/functions')).json()) as {
            functions?: { path: string; kind: FunctionKind }[];
          };
          kind = served.functions?.find((fn) => fn.path === options.path)?.kind ?? null;
          if (!kind) throw noSuchFunction(options.path, found.known);
        }
        const headers: Record<string, string> = {
          'content-type': 'application/json',
          'x-valet-as': options.as ?? 'system',
          'x-valet-source': 'cli',
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
        const kind = found.kind ?? engine.registry.functions.get(options.path)?.kind;
        if (!kind) throw noSuchFunction(options.path, found.known);
        const response = await engine.call({
          kind,
          path: options.path,
          args: options.args,
          invoker,
          external: false,
          idempotencyKey: options.idempotencyKey ?? null,
          exposeErrors: true,
          source: 'cli',
        });
        return { status: response.status, body: response.body };
      },
    },
    options.env,
  );
}
