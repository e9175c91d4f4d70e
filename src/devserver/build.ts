// Builds valet/ with esbuild into one in-memory CommonJS bundle (every module, each dependency
// once, `valet/server` left to the engine's own instance) and evaluates it with
// vm.compileFunction. Unlike ESM `import()`, whose modules Node never frees, a replaced bundle is
// garbage once nothing references it — so hundreds of dev reloads do not grow memory.
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { compileFunction } from 'node:vm';
import type { BuildContext, Message } from 'esbuild';
import { findModuleFiles, modulePathOf } from '../codegen/find-modules.js';
import type { LoadedModules } from '../runtime/registry.js';
import * as valetServer from '../server/index.js';
import { BundleMaps } from './stack-map.js';

export interface BuildMessage {
  file: string;
  line: number;
  column: number;
  text: string;
}

export class BuildError extends Error {
  constructor(readonly messages: BuildMessage[]) {
    super(messages.map((m) => `${m.file}:${m.line}:${m.column}: ${m.text}`).join('\n'));
    this.name = 'BuildError';
  }
}

/** A module threw while being evaluated (at import time, not in a handler). */
export class ModuleLoadError extends Error {
  constructor(message: string, options: { cause: unknown }) {
    super(message, options);
    this.name = 'ModuleLoadError';
  }
}

export interface AppBundle {
  code: string;
  /** Module path → source file relative to the app (valet/users.ts). */
  moduleFiles: Map<string, string>;
  /** Every local source file the bundle was built from (absolute), for the dev watcher. */
  inputs: string[];
}

export interface AppBuilder {
  build(): Promise<AppBundle>;
  dispose(): Promise<void>;
}

const ENTRY = '__valet_entry__.js';

function entrySource(files: string[]): string {
  const lines = files.map((file, i) => `import * as m${i} from ${JSON.stringify(`./valet/${file}`)};`);
  const map = files.map((file, i) => `  ${JSON.stringify(modulePathOf(file))}: m${i},`);
  return `${lines.join('\n')}\nexport const modules = {\n${map.join('\n')}\n};\n`;
}

function toBuildMessages(errors: Message[], appDir: string): BuildMessage[] {
  return errors.map((e) => ({
    file: e.location?.file ? relative(appDir, join(appDir, e.location.file)).replaceAll('\\', '/') : 'valet',
    line: e.location?.line ?? 1,
    column: (e.location?.column ?? 0) + 1,
    text: e.text,
  }));
}

/**
 * An incremental builder: esbuild keeps its parse cache between builds, so a rebuild after one
 * saved file costs little. The entry is regenerated each time, so added and removed modules count.
 */
export function createAppBuilder(appDir: string): AppBuilder {
  let context: BuildContext | null = null;
  let entryFiles = '';

  async function contextFor(files: string[]): Promise<BuildContext> {
    const key = files.join('\n');
    if (context && key === entryFiles) return context;
    await context?.dispose();
    const { context: createContext } = await import('esbuild');
    entryFiles = key;
    context = await createContext({
      absWorkingDir: appDir,
      stdin: { contents: entrySource(files), resolveDir: appDir, sourcefile: ENTRY, loader: 'js' },
      bundle: true,
      format: 'cjs',
      platform: 'node',
      target: 'node20',
      external: ['valet', 'valet/*'],
      sourcemap: 'inline',
      sourcesContent: false,
      metafile: true,
      write: false,
      logLevel: 'silent',
    });
    return context;
  }

  return {
    async build() {
      const files = findModuleFiles(join(appDir, 'valet'));
      const ctx = await contextFor(files);
      try {
        const result = await ctx.rebuild();
        const code = result.outputFiles?.[0]?.text ?? '';
        const inputs = Object.keys(result.metafile?.inputs ?? {})
          .filter((input) => input !== ENTRY && !input.includes('node_modules') && !input.includes('/_generated/'))
          .map((input) => join(appDir, input));
        return { code, inputs, moduleFiles: new Map(files.map((file) => [modulePathOf(file), `valet/${file}`])) };
      } catch (error) {
        const errors = (error as { errors?: Message[] }).errors;
        if (!errors) throw error;
        throw new BuildError(toBuildMessages(errors, appDir));
      }
    },
    async dispose() {
      await context?.dispose();
      context = null;
    },
  };
}

let evaluations = 0;

/**
 * Evaluates a bundle in this context and returns its modules. Each evaluation gets its own
 * filename, registered with `maps`, so stack traces from old and new code both map back to
 * valet/ sources. A throw at import time names the module and line.
 */
export function evaluateBundle(bundle: AppBundle, appDir: string, maps: BundleMaps): LoadedModules {
  const appRequire = createRequire(join(appDir, 'package.json'));
  const require = (id: string) => (id === 'valet' || id === 'valet/server' ? valetServer : appRequire(id));
  const module = { exports: {} as { modules?: LoadedModules } };
  const filename = join(appDir, '.valet', `bundle-${++evaluations}.js`);
  maps.register(filename, bundle.code);
  // compileFunction, not runInThisContext or new Function: on Node 20 those keep every compiled
  // script alive, so each dev reload would leak the whole previous bundle.
  const run = compileFunction(bundle.code, ['exports', 'require', 'module', '__filename', '__dirname'], { filename }) as (...args: unknown[]) => void;
  try {
    run(module.exports, require, module, filename, appDir);
  } catch (error) {
    const stack = maps.rewriteStack((error as Error)?.stack ?? '');
    const where = /(valet\/[^\s():]+):(\d+)/.exec(stack);
    const place = where ? `${where[1]}:${where[2]}` : 'valet/';
    throw new ModuleLoadError(`${place}: the module threw while loading: ${(error as Error)?.message ?? String(error)}`, { cause: error });
  }
  return module.exports.modules ?? {};
}

/** Build once and evaluate (valet start, valet run). */
export async function buildAndLoad(appDir: string, maps = new BundleMaps(appDir)): Promise<LoadedModules> {
  const builder = createAppBuilder(appDir);
  try {
    return evaluateBundle(await builder.build(), appDir, maps);
  } finally {
    await builder.dispose();
  }
}
