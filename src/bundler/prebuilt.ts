// A folder written by `valet build`: the app's functions already bundled (app.cjs), so serving
// needs neither esbuild nor TypeScript. Loaded the same way a fresh build is evaluated.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors/user-error.js';
import type { LoadedModules } from '../runtime/registry.js';
import { evaluateBundle } from './evaluate.js';
import type { BundleMaps } from './stack-map.js';

export const BUILD_BUNDLE = 'app.cjs';
export const BUILD_MANIFEST = 'valet-build.json';

export interface BuildManifest {
  /** The Valet that built it; a server refuses a build from another version. */
  valet: string;
  builtAt: string;
  functions: string[];
  /** Module path → source file, for messages. */
  modules: Record<string, string>;
}

export function readBuildManifest(buildDir: string): BuildManifest {
  const file = join(buildDir, BUILD_MANIFEST);
  if (!existsSync(file))
    throw new UserError(`${buildDir} is not a Valet build (no ${BUILD_MANIFEST}): run \`valet build\` first`);
  return JSON.parse(readFileSync(file, 'utf8')) as BuildManifest;
}

export function loadPrebuilt(buildDir: string, maps: BundleMaps): LoadedModules {
  const manifest = readBuildManifest(buildDir);
  const code = readFileSync(join(buildDir, BUILD_BUNDLE), 'utf8');
  return evaluateBundle({ code, moduleFiles: new Map(Object.entries(manifest.modules)), inputs: [] }, buildDir, maps);
}
