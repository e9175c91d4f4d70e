// docs/errors.md is generated from the table of error codes, and the table is the only place codes
// are made: every code a src file answers with is in it, and every code in it is answered somewhere.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { renderErrorReference } from '../../src/cli/error-reference.js';
import { CLIENT_ERROR_CODES, ERROR_CODES } from '../../src/protocol/error-codes.js';
import { REPO_ROOT } from '../helpers/apps.js';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? sourceFiles(path) : entry.name.endsWith('.ts') ? [path] : [];
  });
}

const TABLE_FILE = join(REPO_ROOT, 'src/protocol/error-codes.ts');
const sources = sourceFiles(join(REPO_ROOT, 'src'))
  .filter((file) => file !== TABLE_FILE)
  .map((file) => ({ file, text: readFileSync(file, 'utf8') }));

/** Codes written where an error is made: `new EngineError('code'`, `code: 'code'`, and the timeout family. */
function codesMadeIn(text: string): string[] {
  const made = [...text.matchAll(/new (?:EngineError|ValetClientError)\(\s*'([a-z_]+)'/g)].map((m) => m[1]!);
  made.push(...[...text.matchAll(/\bcode: '([a-z_]+)'/g)].map((m) => m[1]!));
  made.push(...[...text.matchAll(/\binvalid\('([a-z_]+)'/g)].map((m) => m[1]!));
  return made;
}

it('docs/errors.md is current (regenerate with npm run build && npm run docs:errors)', () => {
  expect(readFileSync(join(REPO_ROOT, 'docs/errors.md'), 'utf8')).toBe(renderErrorReference());
});

it('every code made in src is in the table', () => {
  const known = new Set([...Object.keys(ERROR_CODES), ...Object.keys(CLIENT_ERROR_CODES)]);
  const unknown = sources.flatMap(({ file, text }) =>
    codesMadeIn(text)
      .filter((code) => !known.has(code))
      .map((code) => `${file.slice(REPO_ROOT.length + 1)}: ${code}`),
  );
  expect(unknown).toEqual([]);
  // The extractor itself finds codes (an empty scan would pass the check above vacuously).
  expect(sources.flatMap(({ text }) => codesMadeIn(text)).length).toBeGreaterThan(60);
});

it('every code in the table is made somewhere (no dead rows)', () => {
  const all = sources.map(({ text }) => text).join('\n');
  const dead = Object.keys({ ...ERROR_CODES, ...CLIENT_ERROR_CODES }).filter((code) => {
    if (all.includes(`'${code}'`)) return false;
    // query_timeout, mutation_timeout…: made as `${kind}_timeout`.
    return !(code.endsWith('_timeout') && all.includes('`${kind}_timeout`'));
  });
  expect(dead).toEqual([]);
});

it('statuses are never written beside a code: the table gives them', () => {
  const pairs = sources.flatMap(({ file, text }) =>
    [...text.matchAll(/new EngineError\(\s*'[a-z_]+',\s*\d{3}/g)].map((m) => `${file}: ${m[0]}`),
  );
  expect(pairs).toEqual([]);
});
