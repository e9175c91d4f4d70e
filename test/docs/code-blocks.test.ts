// Every TypeScript block in docs/ that starts with `// valet/<file>.ts` compiles, as written,
// in a new app: each page's blocks become that app's valet/ folder (with the template's schema
// when the page brings none), then codegen and the app's own TypeScript check them.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { typecheckApp } from '../../src/check/typecheck.js';
import { runCodegen } from '../../src/codegen/index.js';
import { linkedTemplateApp, REPO_ROOT, removeTempDirs } from '../helpers/apps.js';

afterAll(removeTempDirs);

const DOCS = join(REPO_ROOT, 'docs');

/** The page's `valet/` blocks, by file (several blocks for one file are joined in order). */
function valetBlocks(page: string): Map<string, string> {
  const files = new Map<string, string>();
  const text = readFileSync(join(DOCS, page), 'utf8');
  for (const match of text.matchAll(/```(?:ts|typescript)\n([\s\S]*?)```/g)) {
    const code = match[1]!;
    const file = /^\/\/ (valet\/[\w/.-]+\.ts)\n/.exec(code)?.[1];
    if (file) files.set(file, `${files.get(file) ?? ''}${code}`);
  }
  return files;
}

const pages = readdirSync(DOCS)
  .filter((name) => name.endsWith('.md'))
  .sort();
const checked = pages.filter((page) => valetBlocks(page).size > 0);

describe('docs/ code blocks', () => {
  it('the pages that teach valet/ code have blocks to check', () => {
    expect(checked).toEqual(
      expect.arrayContaining(['actions.md', 'background-work.md', 'functions-and-data.md', 'getting-started.md']),
    );
  });

  it.each(checked)('%s compiles against a new app', async (page) => {
    const app = await linkedTemplateApp('basic', page.replace('.md', ''));
    const blocks = valetBlocks(page);
    const templateSchema = readFileSync(join(app, 'valet/schema.ts'), 'utf8');
    rmSync(join(app, 'valet'), { recursive: true });
    // The template's own tests call the template's functions, which the page replaces.
    rmSync(join(app, 'tests'), { recursive: true, force: true });
    mkdirSync(join(app, 'valet'));
    if (!blocks.has('valet/schema.ts')) writeFileSync(join(app, 'valet/schema.ts'), templateSchema);
    for (const [file, code] of blocks) {
      mkdirSync(dirname(join(app, file)), { recursive: true });
      writeFileSync(join(app, file), code);
    }
    runCodegen(app);
    expect(existsSync(join(app, 'valet/_generated/valet/api.ts'))).toBe(true);
    const { findings } = await typecheckApp(app);
    expect(findings.map((f) => `${f.file}:${f.line}: ${f.message}`)).toEqual([]);
  });
});
