// The house habits of ARCHITECTURE.md that a reader can check by looking at a file: every src
// file opens with a comment saying why it exists; time comes from the injected clock in the
// engine and the layers that serve it; only src/storage/ speaks SQL about documents.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/apps.js';

const SRC = join(REPO_ROOT, 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? sourceFiles(path) : entry.name.endsWith('.ts') ? [path] : [];
  });
}

const files = sourceFiles(SRC).map((file) => ({ name: relative(SRC, file), text: readFileSync(file, 'utf8') }));
/** The text without comments, so a comment that mentions a name is not counted as a use. */
const code = (text: string) => text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:])\/\/.*$/gm, '$1');

describe('house habits', () => {
  it('finds the source files it checks', () => {
    expect(files.length).toBeGreaterThan(200);
  });

  it('every src file opens with a comment saying why it exists', () => {
    const bare = files.filter(({ text }) => !/^(\/\/ \S|\/\*)/.test(text)).map(({ name }) => name);
    expect(bare).toEqual([]);
  });

  it('the engine and the layers serving it read time from the injected clock (runtime/clock.ts)', () => {
    const layers = ['runtime/', 'http/', 'storage/', 'ops/'];
    const offenders = files
      .filter(({ name }) => layers.some((layer) => name.startsWith(layer)) && name !== 'runtime/clock.ts')
      .filter(({ text }) => /\bDate\.now\b/.test(code(text)))
      .map(({ name }) => name);
    expect(offenders).toEqual([]);
  });

  it('only src/storage/ speaks SQL about documents', () => {
    const offenders = files
      .filter(({ name }) => !name.startsWith('storage/'))
      .filter(({ text }) => code(text).includes('_valet_documents'))
      .map(({ name }) => name);
    expect(offenders).toEqual([]);
  });
});
