// The generated api takes a module's functions from its type, so a function made by a wrapper is
// in it; what it cannot reach is a module codegen found no readable export in. `valet check`
// builds valet/ the way the server does and compares: each served function outside the api is an
// error, at its definition's line.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createAppBuilder } from '../bundler/build.js';
import type { AppBundle } from '../bundler/build.js';
import { evaluateBundle } from '../bundler/evaluate.js';
import { BundleMaps } from '../bundler/stack-map.js';
import type { AppModel } from '../codegen/model.js';
import { UserError } from '../errors/user-error.js';
import { AuthConfigUnsetError } from '../runtime/auth/providers.js';
import { buildRegistry, describeUnlisted, unlistedFunctions } from '../runtime/registry.js';
import type { Finding } from './finding.js';
import { isSuppressed } from './static-rules.js';

function linesOf(appDir: string, file: string): string[] {
  try {
    return readFileSync(join(appDir, file), 'utf8').split('\n');
  } catch {
    return [];
  }
}

/**
 * Starts building valet/ (esbuild works in its own process) so the caller can do its own work
 * meanwhile; `finish` with codegen's model (null when codegen failed: nothing to compare) loads the
 * build and compares.
 */
export function startServedCheck(appDir: string): { finish(model: AppModel | null): Promise<Finding[]> } {
  const maps = new BundleMaps(appDir);
  const builder = createAppBuilder(appDir);
  const built = builder.build().then(
    (bundle) => ({ bundle }),
    (error: unknown) => ({ error }),
  );
  return {
    async finish(model) {
      try {
        const outcome = await built;
        if (!model) return [];
        if ('error' in outcome) throw outcome.error;
        return compare(appDir, model, maps, outcome.bundle);
      } catch (error) {
        return buildFindings(error);
      } finally {
        await builder.dispose();
      }
    },
  };
}

export function servedButUnlisted(appDir: string, model: AppModel): Promise<Finding[]> {
  return startServedCheck(appDir).finish(model);
}

function compare(appDir: string, model: AppModel, maps: BundleMaps, bundle: AppBundle): Finding[] {
  const registry = buildRegistry(evaluateBundle(bundle, appDir, maps), (stack) => maps.rewriteStack(stack));
  const modulesInApi = model.modules.map((m) => m.path);
  const unlisted = unlistedFunctions(registry, modulesInApi, (stack) => maps.rewriteStack(stack)).map((fn) => ({
    file: fn.location?.file ?? 'valet',
    line: fn.location?.line ?? 1,
    column: fn.location?.column ?? 1,
    rule: 'served-not-in-api',
    severity: 'error' as const,
    message: describeUnlisted(fn),
    fix: 'export it with `export const name = …` (or `export default`), which codegen reads',
  }));
  // `// valet-ignore-next-line served-not-in-api` above the definition silences it, as for every rule.
  return unlisted.filter((finding) => !isSuppressed(linesOf(appDir, finding.file), finding.line, finding.rule));
}

/** A module that does not build or load is the same failure valet dev would report. */
function buildFindings(error: unknown): Finding[] {
  if (!(error instanceof UserError)) throw error;
  // valet/auth.config.ts reading a variable this machine does not set (CI without the secrets).
  if (error instanceof AuthConfigUnsetError)
    return [
      {
        file: error.location?.file ?? 'valet/auth.config.ts',
        line: 1,
        column: 1,
        rule: 'auth-config-unset',
        severity: 'warning' as const,
        message: `${error.message}: valet dev and valet start refuse to start without it`,
      },
    ];
  return error.locations.length > 0
    ? error.locations.map((l) => ({
        file: l.file,
        line: l.line ?? 1,
        column: l.column ?? 1,
        rule: 'build',
        severity: 'error' as const,
        message: l.message,
      }))
    : [
        {
          file: error.location?.file ?? 'valet',
          line: error.location?.line ?? 1,
          column: error.location?.column ?? 1,
          rule: 'build',
          severity: 'error' as const,
          message: error.message,
        },
      ];
}
