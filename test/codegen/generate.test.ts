import { readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkCodegen, CodegenError, runCodegen } from '../../src/codegen/index.js';
import { analyseApp } from '../../src/codegen/analyse.js';
import { fixtureApp, removeTempDirs } from '../helpers/apps.js';

afterAll(removeTempDirs);

const GENERATED = ['api.ts', 'dataModel.ts', 'react.ts'];

describe('codegen on the codegen-app fixture', () => {
  it('matches the snapshots of all three generated files', async () => {
    const app = fixtureApp('codegen-app', []);
    const { written } = runCodegen(app);
    expect(written).toEqual(GENERATED.map((f) => `valet/_generated/valet/${f}`));
    for (const file of GENERATED) {
      const content = readFileSync(join(app, 'valet/_generated/valet', file), 'utf8');
      await expect(content).toMatchFileSnapshot(`./__snapshots__/codegen-app/${file}.snap`);
    }
  });

  it('reads kinds, options, nested folders, renamed imports and default exports', () => {
    const model = analyseApp(fixtureApp('codegen-app', []));
    const summary = model.modules.map((m) => ({
      path: m.path,
      functions: m.functions.map(({ line: _line, ...fn }) => fn),
    }));
    expect(summary).toEqual([
      // A helper module has its place too: a function its exports make through a wrapper would be here.
      { path: '_helpers/format', functions: [] },
      {
        path: 'admin/users',
        functions: [
          { name: 'ban', kind: 'mutation', access: 'system', safeToRetry: false, sensitive: false },
          { name: 'default', kind: 'mutation', access: 'authenticated', safeToRetry: false, sensitive: false },
          { name: 'rotateSecret', kind: 'action', access: 'authenticated', safeToRetry: true, sensitive: true },
        ],
      },
      {
        path: 'users',
        functions: [
          { name: 'create', kind: 'mutation', access: 'authenticated', safeToRetry: false, sensitive: false },
          { name: 'list', kind: 'query', access: 'public', safeToRetry: false, sensitive: false },
        ],
      },
    ]);
    expect(model.hasSchema).toBe(true);
  });

  it('is deterministic and leaves unchanged files untouched', () => {
    const app = fixtureApp('codegen-app', []);
    runCodegen(app);
    const apiPath = join(app, 'valet/_generated/valet/api.ts');
    const first = readFileSync(apiPath, 'utf8');
    const past = new Date('2020-01-01T00:00:00Z');
    utimesSync(apiPath, past, past);
    const again = runCodegen(app);
    expect(again.written).toEqual([]);
    expect(readFileSync(apiPath, 'utf8')).toBe(first);
    expect(statSync(apiPath).mtime.getTime()).toBe(past.getTime());
  });

  it('rewrites only the file a change affects', () => {
    const app = fixtureApp('codegen-app', []);
    runCodegen(app);
    writeFileSync(
      join(app, 'valet/users.ts'),
      readFileSync(join(app, 'valet/users.ts'), 'utf8') +
        "\nexport const count = defineQuery({ access: 'public', handler: async () => 1 });\n",
    );
    expect(runCodegen(app).written).toEqual(['valet/_generated/valet/api.ts']);
    expect(readFileSync(join(app, 'valet/_generated/valet/api.ts'), 'utf8')).toContain(
      "count: functionRef('users:count', 'query', { access: 'public' }),",
    );
  });

  it('reports stale and missing files for --check, writing nothing', () => {
    const app = fixtureApp('codegen-app', []);
    expect(checkCodegen(app).map((s) => s.reason)).toEqual(['missing', 'missing', 'missing']);
    runCodegen(app);
    expect(checkCodegen(app)).toEqual([]);
    writeFileSync(
      join(app, 'valet/extra.ts'),
      "import { defineQuery } from './_generated/valet/api';\nexport const x = defineQuery({ handler: async () => 1 });\n",
    );
    const stale = checkCodegen(app);
    expect(stale).toEqual([
      {
        path: 'valet/_generated/valet/api.ts',
        reason: expect.stringMatching(/^out of date \(first difference at line \d+\)$/),
      },
    ]);
    expect(readFileSync(join(app, 'valet/_generated/valet/api.ts'), 'utf8')).not.toContain('extra');
  });

  it('generates an any-table data model when there is no schema', () => {
    const app = fixtureApp('codegen-app', []);
    rmSync(join(app, 'valet/schema.ts'));
    runCodegen(app);
    const dataModel = readFileSync(join(app, 'valet/_generated/valet/dataModel.ts'), 'utf8');
    expect(dataModel).toContain('export type DataModel = AnyDataModel;');
    expect(dataModel).not.toContain("from '../../schema'");
  });
});

describe('codegen errors', () => {
  function appWith(files: Record<string, string>): string {
    const app = fixtureApp('codegen-app', []);
    for (const [path, content] of Object.entries(files)) writeFileSync(join(app, path), content);
    return app;
  }

  function errorsOf(app: string): string[] {
    try {
      runCodegen(app);
    } catch (error) {
      expect(error).toBeInstanceOf(CodegenError);
      return (error as CodegenError).message.split('\n');
    }
    throw new Error('expected codegen to fail');
  }

  it('names file:line:column of a syntax error and writes nothing', () => {
    const app = appWith({
      'valet/broken.ts':
        "import { defineQuery } from './_generated/valet/api';\n\nexport const x = defineQuery({ handler: async () => (1 + ) });\n",
    });
    expect(errorsOf(app)).toEqual([expect.stringMatching(/^valet\/broken\.ts:3:\d+: syntax error: /)]);
    expect(() => statSync(join(app, 'valet/_generated/valet/api.ts'))).toThrow();
  });

  it('keeps the previous generated files when a later run fails', () => {
    const app = fixtureApp('codegen-app', []);
    runCodegen(app);
    const before = readFileSync(join(app, 'valet/_generated/valet/api.ts'), 'utf8');
    writeFileSync(join(app, 'valet/users.ts'), 'export const = ;\n');
    expect(() => runCodegen(app)).toThrow(CodegenError);
    expect(readFileSync(join(app, 'valet/_generated/valet/api.ts'), 'utf8')).toBe(before);
  });

  it('asks for literal options and object-literal definitions', () => {
    const app = appWith({
      'valet/dynamic.ts': [
        "import { defineAction, defineQuery } from './_generated/valet/api';",
        "const level = 'public';",
        'export const a = defineQuery({ access: level, handler: async () => 1 });',
        'const options = { handler: async () => 1 };',
        'export const b = defineQuery(options);',
        'export const c = defineAction({ ...options });',
        'export const d = defineQuery({ safeToRetry: true, handler: async () => 1 });',
        "export const e = defineQuery({ access: 'everyone', handler: async () => 1 });",
        "export { list } from './users';",
        'export let f = defineQuery({ handler: async () => 1 });',
      ].join('\n'),
    });
    expect(errorsOf(app)).toEqual([
      'valet/dynamic.ts:3:40: a: access must be a string literal so codegen can read it without running the module',
      'valet/dynamic.ts:5:18: b: pass the definition to defineQuery(...) as an object literal, so codegen can read its options',
      'valet/dynamic.ts:6:33: c: a spread in a definition hides its options from codegen; write access, safeToRetry and sensitive directly',
      'valet/dynamic.ts:7:32: d: safeToRetry applies to actions only',
      "valet/dynamic.ts:8:40: e: access must be one of 'authenticated', 'public', 'system'",
      'valet/dynamic.ts:10:8: define functions with `const`, not `let`, so they cannot be reassigned',
    ]);
  });

  it('follows aliases of define* and re-exports to the module that defines them', () => {
    const app = appWith({
      'valet/base.ts': [
        "import { defineMutation, defineQuery } from './_generated/valet/api';",
        'const query = defineQuery;',
        "export const listed = query({ access: 'public', handler: async () => 1 });",
        "export const made = defineMutation({ access: 'public', handler: async () => 2 });",
      ].join('\n'),
      'valet/again.ts': "export { listed as shown } from './base';\nexport * from './base';\n",
      'valet/picked.ts': "import { made } from './base.js';\nexport { made };\n",
    });
    const { model } = runCodegen(app);
    const paths = model.modules
      .filter((m) => ['again', 'base', 'picked'].includes(m.path))
      .flatMap((m) => m.functions.map((f) => `${m.path}:${f.name}:${f.kind}:${f.access}`));
    expect(paths).toEqual([
      'again:listed:query:public',
      'again:made:mutation:public',
      'again:shown:query:public',
      'base:listed:query:public',
      'base:made:mutation:public',
      'picked:made:mutation:public',
    ]);
    const api = readFileSync(join(app, 'valet/_generated/valet/api.ts'), 'utf8');
    expect(api).toContain("shown: functionRef('again:shown', 'query', { access: 'public' }),");
    expect(api).toContain("made: functionRef('picked:made', 'mutation', { access: 'public' }),");
  });

  it('names the Valet import for a module copied from Convex', () => {
    const app = appWith({
      'valet/ported.ts': [
        "import { query, internalMutation } from './_generated/server';",
        "import { v } from 'convex/values';",
        "import { cronJobs } from 'convex/server';",
        'export const list = query({ args: {}, handler: async (ctx) => [] });',
      ].join('\n'),
    });
    const errors = errorsOf(app);
    expect(errors[0]).toMatch(
      /^valet\/ported\.ts:1:1: "\.\/_generated\/server" is Convex's: in Valet, import \{ defineQuery, defineMutation, defineAction, httpAction \} from '\.\/_generated\/valet\/api'/,
    );
    expect(errors[1]).toMatch(
      /^valet\/ported\.ts:2:1: "convex\/values" is Convex's: in Valet, import \{ v, ValetError \} from '\.\/_generated\/valet\/api'/,
    );
    expect(errors[2]).toMatch(/^valet\/ported\.ts:3:1: "convex\/server" is Convex's/);
  });

  it('counts lines correctly after non-ASCII text', () => {
    const app = appWith({ 'valet/unicode.ts': "// héllo wörld ✓ 🎉\nconst s = 'ü';\nexport const x = (;\n" });
    expect(errorsOf(app)).toEqual([expect.stringMatching(/^valet\/unicode\.ts:3:19: syntax error/)]);
  });

  it('refuses a schema without a default export', () => {
    const app = appWith({
      'valet/schema.ts':
        "import { defineSchema } from './_generated/valet/api';\nexport const schema = defineSchema({});\n",
    });
    expect(errorsOf(app)).toEqual(['valet/schema.ts:1:1: the schema must `export default defineSchema({ ... })`']);
  });

  it('refuses a function that clashes with a folder of the same name', () => {
    const app = appWith({
      'valet/admin.ts':
        "import { defineQuery } from './_generated/valet/api';\nexport const users = defineQuery({ handler: async () => 1 });\n",
    });
    expect(errorsOf(app)).toEqual([
      expect.stringMatching(
        /^valet\/admin\.ts:2:1: users: api\.admin\.users would be both this function and the folder valet\/admin\/users/,
      ),
    ]);
  });
});
