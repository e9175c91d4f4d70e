// `valet init` as a programmatic API: copy a template, point its package.json at this Valet,
// generate its API, and optionally install. No prompting here (see the init command).
import { cpSync, existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { UserError } from '../errors/user-error.js';
import { packageJson, PACKAGE_ROOT } from '../project/package-info.js';
import { runCodegen } from '../codegen/index.js';
import { listTemplates, templateLayers } from './templates.js';

export class ScaffoldError extends UserError {
  override readonly name = 'ScaffoldError';
}

export interface ScaffoldOptions {
  dir: string;
  template: string;
  /** Scaffold into a non-empty directory, overwriting template files. */
  force?: boolean;
  /** Depend on this Valet package by path (`file:`) instead of by version. */
  link?: boolean;
}

/** Empty, or holding only version-control metadata (as Vite's create treats it). */
export function isEmptyDir(dir: string): boolean {
  if (!existsSync(dir)) return true;
  return readdirSync(dir).every((name) => name === '.git');
}

/**
 * How the new app depends on Valet: the version range of the valet that created it, so the app
 * installs anywhere. `link` (working inside a Valet checkout: the demo, tests) makes it a `file:`
 * dependency on the running package instead, and the app says so in its package.json.
 */
export function valetDependencySpec(link: boolean): string {
  return link ? `file:${PACKAGE_ROOT}` : `^${packageJson().version}`;
}

/** A valid npm package name from the directory's name. */
function packageNameFor(dir: string): string {
  const name = basename(resolve(dir))
    .toLowerCase()
    .replace(/[^a-z0-9-~._]+/g, '-')
    .replace(/^[-._]+/, '');
  return name || 'valet-app';
}

export function scaffoldApp(options: ScaffoldOptions): { appDir: string; files: string[] } {
  const appDir = resolve(options.dir);
  const templates = listTemplates().map((t) => t.name);
  if (!templates.includes(options.template)) {
    throw new ScaffoldError(`unknown template "${options.template}"; choose one of: ${templates.join(', ')}`);
  }
  if (!options.force && !isEmptyDir(appDir)) {
    throw new ScaffoldError(
      `${appDir} is not empty. Choose a new directory, or pass --force to write the template into it.`,
    );
  }
  const skipped = new Set(['node_modules', '_generated', '.valet', 'dist', 'template.json']);
  for (const layer of templateLayers(options.template)) {
    cpSync(layer, appDir, { recursive: true, force: true, filter: (path) => !skipped.has(basename(path)) });
  }
  // npm drops .gitignore from published packages, so templates keep it as _gitignore.
  if (existsSync(join(appDir, '_gitignore'))) renameSync(join(appDir, '_gitignore'), join(appDir, '.gitignore'));

  const manifestPath = join(appDir, 'package.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  manifest.name = packageNameFor(appDir);
  manifest.dependencies = { ...manifest.dependencies, valet: valetDependencySpec(options.link ?? false) };
  if (options.link) {
    manifest.valetLink = `valet is linked to the checkout at ${PACKAGE_ROOT} (valet init --link); to depend on the published package instead, set "valet": "^${packageJson().version}"`;
  }
  writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);

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
