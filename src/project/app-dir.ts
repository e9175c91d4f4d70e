// Which app a command acts on: the working directory when it has a valet/ folder, else the
// nearest parent that is an app (a valet/ folder and a package.json) — but never past the first
// package.json (the package the user is in), never a folder inside node_modules, and never this
// package's own templates or test fixtures. A folder other than the working directory is named
// on stderr, so a command never acts on an app the user did not expect in silence.
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { UserError } from '../errors/user-error.js';
import { PACKAGE_ROOT } from './package-info.js';

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Folders of the Valet package that hold valet/ folders without being apps. */
function isInsideValetPackage(dir: string): boolean {
  return [join(PACKAGE_ROOT, 'templates'), join(PACKAGE_ROOT, 'test')].some(
    (root) => dir === root || dir.startsWith(root + sep),
  );
}

export function findAppDir(start = process.cwd(), options: { announce?: boolean } = {}): string {
  const from = resolve(start);
  for (let dir = from; ; dir = dirname(dir)) {
    const inNodeModules = dir.split(/[\\/]/).includes('node_modules');
    const packageRoot = existsSync(join(dir, 'package.json'));
    // A parent must look like an app, not just hold a folder named valet/.
    if (
      !inNodeModules &&
      !isInsideValetPackage(dir) &&
      isDirectory(join(dir, 'valet')) &&
      (dir === from || packageRoot)
    ) {
      if (dir !== from && options.announce !== false) process.stderr.write(`valet: using the app in ${dir}\n`);
      return dir;
    }
    if (packageRoot || dirname(dir) === dir) {
      const upTo = packageRoot && dir !== from ? ` up to ${dir} (its package root)` : '';
      throw new UserError(
        `no valet/ folder in ${from} or its parents${upTo}.\nCreate an app with: npx valet init my-app`,
      );
    }
  }
}
