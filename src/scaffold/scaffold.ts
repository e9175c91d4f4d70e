// `valet init` as a programmatic API: copy a template, point its package.json at this Valet, and
// generate its API. No prompting here (see answers.ts) and no install (see install.ts).
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { runCodegen } from '../codegen/index.js';
import { PACKAGE_ROOT, packageJson } from '../project/package-info.js';
import { copyTemplate } from './copy-template.js';

export { isEmptyDir, ScaffoldError } from './copy-template.js';

/** The templates this valet package ships. */
export const TEMPLATES_DIR = join(PACKAGE_ROOT, 'templates');

export interface ScaffoldOptions {
  dir: string;
  template: string;
  /** Scaffold into a non-empty directory, overwriting template files. */
  force?: boolean;
  /** Depend on this Valet package by path (`file:`) instead of by version. */
  link?: boolean;
  /** Write AGENTS.md and the pointers coding agents read (default true). */
  agents?: boolean;
}

/**
 * How the new app depends on Valet: the version range of the valet that created it, so the app
 * installs anywhere. `link` (working inside a Valet checkout: the demo, tests) makes it a `file:`
 * dependency on the running package instead, and the app says so in its package.json.
 */
export function valetDependencySpec(link: boolean): string {
  return link ? `file:${PACKAGE_ROOT}` : `^${packageJson().version}`;
}

export function scaffoldApp(options: ScaffoldOptions): { appDir: string; files: string[] } {
  const appDir = copyTemplate({
    dir: options.dir,
    template: options.template,
    templatesDir: TEMPLATES_DIR,
    valetSpec: valetDependencySpec(options.link ?? false),
    force: options.force,
    agents: options.agents,
    manifestExtras: options.link
      ? {
          valetLink: `valet is linked to the checkout at ${PACKAGE_ROOT} (valet init --link); to depend on the published package instead, set "valet": "^${packageJson().version}"`,
        }
      : undefined,
  });
  runCodegen(appDir);
  return { appDir, files: listFiles(appDir) };
}

function listFiles(dir: string, prefix = ''): string[] {
  return readdirSync(join(dir, prefix), { withFileTypes: true }).flatMap((entry) => {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.name === 'node_modules' || entry.name === '.git') return [];
    return entry.isDirectory() ? listFiles(dir, path) : [path];
  });
}
