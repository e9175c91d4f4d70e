import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { CliError } from './errors.js';

/** The app a command acts on: the nearest directory, from `start` upwards, that has a valet/ folder. */
export function findAppDir(start = process.cwd()): string {
  let dir = resolve(start);
  for (;;) {
    const candidate = join(dir, 'valet');
    if (existsSync(candidate) && statSync(candidate).isDirectory() && !dir.split(/[\\/]/).includes('node_modules')) return dir;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new CliError(`No valet/ folder in ${resolve(start)} or any parent directory.\nCreate an app with: npx valet init my-app`);
}
