// Which files under valet/ are function modules: the one rule codegen, the bundler and check
// share.
import { readdirSync } from 'node:fs';
import { join, posix } from 'node:path';
import { AUTH_CONFIG_MODULE } from '../server/auth-config.js';

const SOURCE_EXTENSIONS = ['.ts', '.tsx', '.js', '.jsx', '.mts', '.mjs'];

/**
 * The function modules of an app: source files under valet/, except `_generated/`, dot files and
 * names with a second dot (`users.test.ts`, `types.d.ts`), which are tests, configs or declarations.
 * Returned as paths relative to valet/, sorted so every later step is deterministic.
 */
export function findModuleFiles(valetDir: string): string[] {
  const found: string[] = [];
  const walk = (relative: string) => {
    for (const entry of readdirSync(join(valetDir, relative), { withFileTypes: true })) {
      const name = entry.name;
      if (name.startsWith('.') || name === 'node_modules' || name === '_generated') continue;
      const child = relative ? posix.join(relative, name) : name;
      if (entry.isDirectory()) walk(child);
      else if (entry.isFile() && isModuleFileName(name)) found.push(child);
    }
  };
  walk('');
  return found.sort();
}

// valet/auth.config.ts: a config, not a function module, but built and loaded with the app.
const CONFIG_FILES = SOURCE_EXTENSIONS.map((ext) => `${AUTH_CONFIG_MODULE}${ext}`);

/** What the app's bundle is built from: its function modules, and valet/auth.config.ts when there is one. */
export function findBundleFiles(valetDir: string): string[] {
  const configs = readdirSync(valetDir).filter((name) => CONFIG_FILES.includes(name));
  return [...findModuleFiles(valetDir), ...configs.slice(0, 1)];
}

function isModuleFileName(name: string): boolean {
  const extension = SOURCE_EXTENSIONS.find((ext) => name.endsWith(ext));
  return extension !== undefined && !name.slice(0, -extension.length).includes('.');
}

/** `admin/users.ts` → `admin/users` */
export function modulePathOf(file: string): string {
  return file.replace(/\.[^./]+$/, '');
}
