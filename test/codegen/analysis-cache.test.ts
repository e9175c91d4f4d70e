// Codegen and the static rules keep what they read of each module in .valet/ between runs: an
// unchanged module is read from there, not parsed again; an edited one is analysed afresh; a
// deleted one leaves the cache; a damaged cache or one from other readers is set aside; an app
// without .valet/ gets none.
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runStaticRules } from '../../src/check/static-rules.js';
import { RULES } from '../../src/check/rules/index.js';
import { runCodegen } from '../../src/codegen/index.js';
import { fixtureApp, removeTempDirs } from '../helpers/apps.js';

afterAll(removeTempDirs);

const cachePath = (app: string) => join(app, '.valet', 'codegen-cache.json');
const readCache = (app: string) =>
  JSON.parse(readFileSync(cachePath(app), 'utf8')) as {
    analyser: string;
    modules: Record<
      string,
      { sha1: string; analysis: { functions: { name: string }[] }; findings?: { rule: string; message: string }[] }
    >;
  };
const api = (app: string) => readFileSync(join(app, 'valet/_generated/valet/api.ts'), 'utf8');

/** An app that has run codegen once with a .valet/ (its cache written), copied to a fresh directory. */
function appWithCache(): string {
  const first = fixtureApp('engine-app');
  mkdirSync(join(first, '.valet'), { recursive: true });
  runCodegen(first);
  // Another directory: this process has not analysed it yet, so the next run reads the cache file.
  const second = `${first}-again`;
  cpSync(first, second, { recursive: true, verbatimSymlinks: true });
  return second;
}

describe('the codegen cache in .valet/', () => {
  it('stores an analysis per module, keyed by its text', () => {
    const app = appWithCache();
    const cache = readCache(app);
    expect(cache.analyser).not.toBe('');
    expect(Object.keys(cache.modules)).toContain('valet/users.ts');
    expect(cache.modules['valet/users.ts']!.analysis.functions.map((f) => f.name)).toContain('create');
  });

  it('answers an unchanged module from the cache, without parsing it again', () => {
    const app = appWithCache();
    // What the cache says wins while the text is the same: a function only the cache knows appears.
    const cache = readCache(app);
    const users = cache.modules['valet/users.ts']!.analysis.functions;
    users.push({ ...users[0]!, name: 'onlyInTheCache' });
    writeFileSync(cachePath(app), JSON.stringify(cache));
    runCodegen(app);
    expect(api(app)).toContain('onlyInTheCache');
  });

  it('analyses an edited module afresh, and keeps the cache current', () => {
    const app = appWithCache();
    const cache = readCache(app);
    const users = cache.modules['valet/users.ts']!.analysis.functions;
    users.push({ ...users[0]!, name: 'onlyInTheCache' });
    writeFileSync(cachePath(app), JSON.stringify(cache));
    const file = join(app, 'valet/users.ts');
    writeFileSync(
      file,
      `${readFileSync(file, 'utf8')}\nexport const added = defineQuery({ access: 'public', handler: async () => 1 });\n`,
    );
    runCodegen(app);
    expect(api(app)).toContain('added');
    expect(api(app)).not.toContain('onlyInTheCache');
    expect(readCache(app).modules['valet/users.ts']!.analysis.functions.map((f) => f.name)).toContain('added');
  });

  it('forgets a deleted module', () => {
    const app = appWithCache();
    const victim = Object.keys(readCache(app).modules).find(
      (file) => file !== 'valet/users.ts' && !file.includes('schema'),
    )!;
    rmSync(join(app, victim));
    runCodegen(app);
    expect(Object.keys(readCache(app).modules)).not.toContain(victim);
  });

  it('sets aside a damaged cache or one written by another analyser, and writes a good one', () => {
    for (const content of ['{"analyser": "12:34", "modules', JSON.stringify({ analyser: 'another', modules: {} })]) {
      const app = appWithCache();
      const expected = api(app);
      writeFileSync(cachePath(app), content);
      runCodegen(app);
      expect(api(app)).toBe(expected);
      expect(Object.keys(readCache(app).modules)).toContain('valet/users.ts');
    }
  });

  it('keeps the findings of the static rules per module, and recomputes those of an edited module', () => {
    const first = fixtureApp('engine-app');
    mkdirSync(join(first, '.valet'), { recursive: true });
    const findings = runStaticRules(first);
    const cache = readCache(first);
    expect(cache.modules['valet/users.ts']!.findings).toEqual(findings.filter((f) => f.file === 'valet/users.ts'));
    // A copy whose cache claims a finding in users.ts: it is reported while users.ts is unchanged.
    const second = `${first}-rules`;
    cpSync(first, second, { recursive: true, verbatimSymlinks: true });
    const claimed = {
      ...cache.modules['valet/users.ts']!,
      findings: [
        { file: 'valet/users.ts', line: 1, column: 1, rule: 'from-the-cache', severity: 'warning', message: 'cached' },
      ],
    };
    writeFileSync(
      cachePath(second),
      JSON.stringify({ ...cache, modules: { ...cache.modules, 'valet/users.ts': claimed } }),
    );
    expect(runStaticRules(second).map((f) => f.rule)).toContain('from-the-cache');
    // Rules other than Valet's own never read or write the cache.
    expect(runStaticRules(second, [...RULES]).map((f) => f.rule)).not.toContain('from-the-cache');
    const file = join(second, 'valet/users.ts');
    writeFileSync(file, `${readFileSync(file, 'utf8')}\n// edited\n`);
    expect(runStaticRules(second).map((f) => f.rule)).not.toContain('from-the-cache');
  });

  it('creates no .valet/ for an app that has none', () => {
    const app = fixtureApp('engine-app');
    rmSync(join(app, '.valet'), { recursive: true, force: true });
    runCodegen(app);
    expect(existsSync(join(app, '.valet'))).toBe(false);
  });
});
