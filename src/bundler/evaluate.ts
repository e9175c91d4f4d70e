// Evaluates a bundle with vm.compileFunction. Unlike ESM `import()`, whose modules Node never
// frees, a replaced bundle is garbage once nothing references it — so hundreds of dev reloads do
// not grow memory. Each evaluation gets its own filename, registered with the stack maps, so
// stack traces from old and new code both map back to valet/ sources.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { compileFunction } from 'node:vm';
import { UserError } from '../errors/user-error.js';
import { bundleFilenameOf } from '../project/paths.js';
import { APP_FRAME } from '../runtime/registry.js';
import type { LoadedModules } from '../runtime/registry.js';
import * as valetAuth from '../server/auth.js';
import * as valetServer from '../server/index.js';
import type { AppBundle } from './build.js';
import { createAppBuilder } from './build.js';
import { BundleMaps } from './stack-map.js';

/** A module threw while being evaluated (at import time, not in a handler). */
export class ModuleLoadError extends UserError {
  constructor(message: string, location: { file: string; line?: number } | undefined, cause: unknown) {
    super(message, { location, cause });
    this.name = 'ModuleLoadError';
  }
}

let evaluations = 0;

/** Evaluates a bundle in this context and returns its modules; a throw at import time names the module and line. */
export function evaluateBundle(bundle: AppBundle, appDir: string, maps: BundleMaps): LoadedModules {
  const appRequire = createRequire(join(appDir, 'package.json'));
  // valet/server and valet/auth are the engine's own instances (their definitions are recognised by identity).
  const require = (id: string) =>
    id === 'valet' || id === 'valet/server' ? valetServer : id === 'valet/auth' ? valetAuth : appRequire(id);
  const module = { exports: {} as { modules?: LoadedModules } };
  const filename = bundleFilenameOf(appDir, ++evaluations);
  maps.register(filename, bundle.code);
  // compileFunction, not runInThisContext or new Function: on Node 20 those keep every compiled
  // script alive, so each dev reload would leak the whole previous bundle.
  const run = compileFunction(bundle.code, ['exports', 'require', 'module', '__filename', '__dirname'], {
    filename,
  }) as (...args: unknown[]) => void;
  try {
    run(module.exports, require, module, filename, appDir);
  } catch (error) {
    const stack = maps.rewriteStack((error as Error)?.stack ?? '');
    const where = APP_FRAME.exec(stack);
    const location = where ? { file: where[1]!, line: Number(where[2]) } : undefined;
    throw new ModuleLoadError(
      `${where ? `${where[1]}:${where[2]}` : 'valet/'}: the module threw while loading: ${(error as Error)?.message ?? String(error)}`,
      location,
      error,
    );
  }
  return module.exports.modules ?? {};
}

/** Build once and evaluate (valet start, valet run, tests). */
export async function buildAndLoad(appDir: string, maps = new BundleMaps(appDir)): Promise<LoadedModules> {
  const builder = createAppBuilder(appDir);
  try {
    return evaluateBundle(await builder.build(), appDir, maps);
  } finally {
    await builder.dispose();
  }
}
