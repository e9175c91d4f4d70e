// Generated files written only when their bytes change, so a save does not re-trigger every
// watcher.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { GeneratedFile } from './generate.js';

function readIfExists(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/**
 * Writes the files whose content changed, each through a temp file and a rename so a reader
 * (a watcher, tsc, a bundler) never sees half a file. Unchanged files are not touched: a rewrite
 * would re-trigger every watcher on them. Returns the paths written.
 */
export function writeGeneratedFiles(appDir: string, files: GeneratedFile[]): string[] {
  const written: string[] = [];
  for (const file of files) {
    const target = join(appDir, file.path);
    if (readIfExists(target) === file.content) continue;
    mkdirSync(dirname(target), { recursive: true });
    const temp = `${target}.${process.pid}.tmp`;
    writeFileSync(temp, file.content);
    renameSync(temp, target);
    written.push(file.path);
  }
  return written;
}

export interface StaleFile {
  path: string;
  reason: string;
}

/** What `codegen --check` reports: each generated file that is missing or differs, with why. */
export function findStaleFiles(appDir: string, files: GeneratedFile[]): StaleFile[] {
  const stale: StaleFile[] = [];
  for (const file of files) {
    const current = readIfExists(join(appDir, file.path));
    if (current === null) stale.push({ path: file.path, reason: 'missing' });
    else if (current !== file.content)
      stale.push({
        path: file.path,
        reason: `out of date (first difference at line ${firstDifferentLine(current, file.content)})`,
      });
  }
  return stale;
}

function firstDifferentLine(a: string, b: string): number {
  const left = a.split('\n');
  const right = b.split('\n');
  let line = 0;
  while (line < left.length && line < right.length && left[line] === right[line]) line++;
  return line + 1;
}
