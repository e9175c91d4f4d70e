// Builds valet/ with esbuild into one in-memory CommonJS bundle: every module, each dependency
// once, `valet/server` left to the engine's own instance. Incremental: esbuild keeps its parse
// cache between builds, so a rebuild after one saved file costs little.
import { join, relative } from 'node:path';
import type { BuildContext, Message } from 'esbuild';
import { UserError } from '../errors/user-error.js';
import { findBundleFiles, modulePathOf } from '../codegen/find-modules.js';

export interface BuildMessage {
  file: string;
  line: number;
  column: number;
  text: string;
}

/** esbuild could not build valet/ (a syntax error, an import that does not resolve): the user's to fix. */
export class BuildError extends UserError {
  constructor(readonly messages: BuildMessage[]) {
    super(messages.map((m) => `${m.file}:${m.line}:${m.column}: ${m.text}`).join('\n'), {
      locations: messages.map((m) => ({ file: m.file, line: m.line, column: m.column, message: m.text })),
    });
    this.name = 'BuildError';
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

/** The entry is regenerated each build, so added and removed modules count. */
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
      const files = findBundleFiles(join(appDir, 'valet'));
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
