// Builds valet/ with esbuild into .valet/build/<id>/ (one output per module, shared chunks
// split out, packages left external so `valet/server` is the engine's own instance), then
// imports the outputs. A build error names file:line.
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { findModuleFiles, modulePathOf } from '../codegen/find-modules.js';
import type { LoadedModules } from '../runtime/registry.js';
import { isAlive } from './state.js';

export interface BuildMessage {
  file: string;
  line: number;
  column: number;
  text: string;
  lineText: string;
}

export class BuildError extends Error {
  constructor(readonly messages: BuildMessage[]) {
    super(messages.map((m) => `${m.file}:${m.line}:${m.column}: ${m.text}`).join('\n'));
    this.name = 'BuildError';
  }
}

export interface BuildResult {
  outDir: string;
  /** Module path → built file. */
  outputs: Map<string, string>;
  /** Every local source file the build read (for the dev watcher). */
  inputs: string[];
}

let buildCounter = 0;

/** Builds are named <pid>-<n>; those of processes that have exited are no longer needed. */
function pruneStaleBuilds(buildRoot: string): void {
  if (!existsSync(buildRoot)) return;
  for (const name of readdirSync(buildRoot)) {
    const pid = Number(name.split('-')[0]);
    if (Number.isInteger(pid) && pid !== process.pid && !isAlive(pid)) rmSync(join(buildRoot, name), { recursive: true, force: true });
  }
}

export async function buildApp(appDir: string, stateDir: string): Promise<BuildResult> {
  const { build } = await import('esbuild');
  const valetDir = join(appDir, 'valet');
  const files = findModuleFiles(valetDir);
  pruneStaleBuilds(join(stateDir, 'build'));
  const outDir = join(stateDir, 'build', `${process.pid}-${++buildCounter}`);
  mkdirSync(outDir, { recursive: true });
  try {
    const result = await build({
      absWorkingDir: appDir,
      entryPoints: files.map((file) => join('valet', file)),
      outbase: 'valet',
      outdir: outDir,
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      packages: 'external',
      sourcemap: 'linked',
      metafile: true,
      logLevel: 'silent',
      outExtension: { '.js': '.mjs' },
    });
    const outputs = new Map(files.map((file) => [modulePathOf(file), join(outDir, `${modulePathOf(file)}.mjs`)]));
    const inputs = Object.keys(result.metafile.inputs).filter((input) => !input.includes('node_modules') && !input.includes('/_generated/'));
    return { outDir, outputs, inputs: inputs.map((input) => join(appDir, input)) };
  } catch (error) {
    rmSync(outDir, { recursive: true, force: true });
    const errors = (error as { errors?: { text: string; location: { file: string; line: number; column: number; lineText: string } | null }[] }).errors;
    if (!errors) throw error;
    throw new BuildError(
      errors.map((e) => ({ file: e.location?.file ?? 'valet', line: e.location?.line ?? 1, column: (e.location?.column ?? 0) + 1, text: e.text, lineText: e.location?.lineText ?? '' })),
    );
  }
}

/** Imports each built module; an exception at import time names the module. */
export async function loadModules(build: BuildResult): Promise<LoadedModules> {
  const modules: LoadedModules = {};
  for (const [modulePath, file] of build.outputs) {
    try {
      modules[modulePath] = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    } catch (error) {
      throw new Error(`valet/${modulePath}: failed to load: ${(error as Error).message}`, { cause: error });
    }
  }
  return modules;
}
