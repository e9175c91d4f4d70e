// A template copied into a new app folder, its package.json named after the folder and pointed at
// a Valet version: everything a new app needs before its install, with nothing but node:fs, so
// create-valet can do it without installing Valet first.
import { cpSync, existsSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { UserError } from '../errors/user-error.js';
import { listTemplates, templateLayers } from './templates.js';

export class ScaffoldError extends UserError {
  override readonly name = 'ScaffoldError';
}

export interface CopyTemplateOptions {
  dir: string;
  template: string;
  templatesDir: string;
  /** What the app's package.json says for `valet`: `^0.1.0`, or `file:…` for a linked checkout. */
  valetSpec: string;
  /** Scaffold into a non-empty directory, overwriting template files. */
  force?: boolean;
  /** Extra top-level package.json fields (a note that valet is linked). */
  manifestExtras?: Record<string, string>;
  /** Write AGENTS.md and the pointers coding agents read (default true; --no-agents). */
  agents?: boolean;
}

/** Empty, or holding only version-control metadata (as Vite's create treats it). */
export function isEmptyDir(dir: string): boolean {
  if (!existsSync(dir)) return true;
  return readdirSync(dir).every((name) => name === '.git');
}

/** A valid npm package name from the directory's name. */
function packageNameFor(dir: string): string {
  const name = basename(resolve(dir))
    .toLowerCase()
    .replace(/[^a-z0-9-~._]+/g, '-')
    .replace(/^[-._]+/, '');
  return name || 'valet-app';
}

/** Copies the template; returns the app's absolute path. */
export function copyTemplate(options: CopyTemplateOptions): string {
  const appDir = resolve(options.dir);
  const templates = listTemplates(options.templatesDir).map((t) => t.name);
  if (!templates.includes(options.template)) {
    throw new ScaffoldError(`unknown template "${options.template}"; choose one of: ${templates.join(', ')}`, {
      exitCode: 2,
    });
  }
  if (!options.force && !isEmptyDir(appDir)) {
    throw new ScaffoldError(
      `${appDir} is not empty. Choose a new directory, or pass --force to write the template into it.`,
    );
  }
  const skipped = new Set(['node_modules', '_generated', '.valet', 'dist', 'template.json']);
  for (const layer of templateLayers(options.templatesDir, options.template)) {
    cpSync(layer, appDir, { recursive: true, force: true, filter: (path) => !skipped.has(basename(path)) });
  }
  // The rules and pointers coding agents read (AGENTS.md, CLAUDE.md, .cursor/rules), shared by
  // every template; files the app already has are kept.
  const agents = join(options.templatesDir, '_agents');
  if (options.agents !== false && existsSync(agents)) cpSync(agents, appDir, { recursive: true, force: false });
  // npm drops .gitignore from published packages, so templates keep it as _gitignore.
  if (existsSync(join(appDir, '_gitignore'))) renameSync(join(appDir, '_gitignore'), join(appDir, '.gitignore'));

  const manifestPath = join(appDir, 'package.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  manifest.name = packageNameFor(appDir);
  manifest.dependencies = { ...manifest.dependencies, valet: options.valetSpec };
  Object.assign(manifest, options.manifestExtras);
  writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  return appDir;
}
