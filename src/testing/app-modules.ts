// What a harness runs: the app's valet/ built the way `valet dev` builds it (esbuild, evaluated
// in this process), once per app per process; or modules a test passes itself (import.meta.glob).
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createAppBuilder } from '../bundler/build.js';
import { evaluateBundle } from '../bundler/evaluate.js';
import { BundleMaps } from '../bundler/stack-map.js';
import { modulePathOf } from '../codegen/find-modules.js';
import { UserError } from '../errors/user-error.js';
import type { LoadedModules } from '../runtime/registry.js';

export interface BuiltApp {
  modules: LoadedModules;
  maps: BundleMaps;
}

const builds = new Map<string, { stamp: string; app: Promise<BuiltApp> }>();

/** The newest modification time under valet/: a save between runs of a watching test runner rebuilds. */
function stampOf(appDir: string): string {
  let newest = 0;
  let count = 0;
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else {
        count++;
        newest = Math.max(newest, statSync(path).mtimeMs);
      }
    }
  };
  walk(join(appDir, 'valet'));
  return `${count}:${newest}`;
}

export function buildApp(appDir: string): Promise<BuiltApp> {
  const stamp = stampOf(appDir);
  const cached = builds.get(appDir);
  if (cached && cached.stamp === stamp) return cached.app;
  const app = (async () => {
    const maps = new BundleMaps(appDir);
    const builder = createAppBuilder(appDir);
    try {
      return { modules: evaluateBundle(await builder.build(), appDir, maps), maps };
    } finally {
      await builder.dispose();
    }
  })();
  builds.set(appDir, { stamp, app });
  app.catch(() => builds.delete(appDir));
  return app;
}

/**
 * Modules as a bundler's glob gives them (`import.meta.glob('../valet/**\/*.ts', { eager: true })`):
 * keys are paths ending in `valet/<module>.ts`; generated files and tests are left out.
 */
export function modulesFromGlob(modules: Record<string, unknown>, schema?: unknown): LoadedModules {
  const loaded: LoadedModules = {};
  for (const [path, exports] of Object.entries(modules)) {
    const match = /(?:^|\/)valet\/(.+)$/.exec(path.replaceAll('\\', '/'));
    if (!match)
      throw new UserError(
        `valetTest({ modules }): "${path}" is not a file under valet/ (use import.meta.glob('../valet/**/*.ts', { eager: true }))`,
      );
    const file = match[1]!;
    if (file.startsWith('_generated/') || /\.(test|spec)\.[^/]+$/.test(file) || file.endsWith('.d.ts')) continue;
    loaded[modulePathOf(file)] = exports as Record<string, unknown>;
  }
  if (schema !== undefined) loaded.schema = { default: (schema as { default?: unknown })?.default ?? schema };
  return loaded;
}
