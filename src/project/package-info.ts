// Where the Valet package itself lives (its package.json, templates/ and dist/), and its manifest:
// the one source of the version that `valet --version` prints and new apps depend on.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The root of the valet package (holds package.json, templates/ and dist/). */
export const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface PackageJson {
  name: string;
  version: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

let cached: PackageJson | undefined;
export function packageJson(): PackageJson {
  cached ??= JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as PackageJson;
  return cached;
}
