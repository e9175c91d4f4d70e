import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isEmptyDir, scaffoldApp, ScaffoldError, TEMPLATES_DIR } from '../../src/scaffold/scaffold.js';
import { listTemplates } from '../../src/scaffold/templates.js';
import { REPO_ROOT, removeTempDirs, tempDir } from '../helpers/apps.js';

afterAll(removeTempDirs);

const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8'));

describe('scaffoldApp', () => {
  it('creates the basic app with every function kind, generated API and the version range of this valet', () => {
    const dir = join(tempDir(), 'My App');
    const { files } = scaffoldApp({ dir, template: 'basic' });
    for (const file of [
      'valet/schema.ts',
      'valet/users.ts',
      'valet/actions.ts',
      'valet/crons.ts',
      'valet/http.ts',
      'README.md',
      '.gitignore',
      'tsconfig.json',
    ]) {
      expect(files).toContain(file);
    }
    expect(files).toContain('valet/_generated/valet/api.ts');
    expect(files).not.toContain('_gitignore');
    expect(files).not.toContain('template.json');
    const manifest = readJson(join(dir, 'package.json'));
    expect(manifest.name).toBe('my-app');
    expect(manifest.dependencies.valet).toBe(`^${readJson(join(REPO_ROOT, 'package.json')).version}`);
    expect(manifest.valetLink).toBeUndefined();
    expect(readFileSync(join(dir, 'valet/_generated/valet/api.ts'), 'utf8')).toContain(
      "sendWelcomeEmail: functionRef('actions:sendWelcomeEmail', 'action', { access: 'authenticated' }),",
    );
  });

  it('writes the rules for coding agents (AGENTS.md and its pointers) unless told not to, keeping an app’s own', () => {
    const dir = join(tempDir(), 'agents');
    const { files } = scaffoldApp({ dir, template: 'basic' });
    expect(files).toEqual(expect.arrayContaining(['AGENTS.md', 'CLAUDE.md', '.cursor/rules/valet.mdc']));
    expect(readFileSync(join(dir, 'AGENTS.md'), 'utf8')).toContain('valet check');
    const without = join(tempDir(), 'no-agents');
    expect(scaffoldApp({ dir: without, template: 'basic', agents: false }).files).not.toContain('AGENTS.md');
    const own = join(tempDir(), 'own-agents');
    mkdirSync(own, { recursive: true });
    writeFileSync(join(own, 'AGENTS.md'), '# ours\n');
    scaffoldApp({ dir: own, template: 'basic', force: true });
    expect(readFileSync(join(own, 'AGENTS.md'), 'utf8')).toBe('# ours\n');
  });

  it('links this checkout by path only when asked (--link), and says so in package.json', () => {
    const dir = join(tempDir(), 'linked');
    scaffoldApp({ dir, template: 'basic', link: true });
    const manifest = readJson(join(dir, 'package.json'));
    expect(manifest.dependencies.valet).toBe(`file:${REPO_ROOT}`);
    expect(manifest.valetLink).toContain('valet init --link');
  });

  it('builds the react template on top of the basic one', () => {
    const dir = join(tempDir(), 'web');
    const { files } = scaffoldApp({ dir, template: 'react' });
    expect(files).toEqual(expect.arrayContaining(['valet/actions.ts', 'src/App.tsx', 'index.html', 'vite.config.ts']));
    expect(readJson(join(dir, 'package.json')).devDependencies.vite).toBeDefined();
  });

  it('refuses a non-empty directory unless forced, and loses nothing there', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'notes.txt'), 'keep me');
    expect(() => scaffoldApp({ dir, template: 'basic' })).toThrow(ScaffoldError);
    expect(() => scaffoldApp({ dir, template: 'basic' })).toThrow(/is not empty.*--force/);
    expect(existsSync(join(dir, 'valet'))).toBe(false);
    scaffoldApp({ dir, template: 'basic', force: true });
    expect(readFileSync(join(dir, 'notes.txt'), 'utf8')).toBe('keep me');
    expect(existsSync(join(dir, 'valet/users.ts'))).toBe(true);
  });

  it('treats a directory holding only .git as empty', () => {
    const dir = tempDir();
    mkdirSync(join(dir, '.git'));
    expect(isEmptyDir(dir)).toBe(true);
  });

  it('refuses an unknown template, listing the real ones', () => {
    expect(() => scaffoldApp({ dir: join(tempDir(), 'x'), template: 'vue' })).toThrow(
      'unknown template "vue"; choose one of: basic, react',
    );
  });
});

describe('templates', () => {
  it('pin the versions this checkout installs, so npm install in a new app works from the cache', () => {
    const ours = readJson(join(REPO_ROOT, 'package.json'));
    const available = { ...ours.dependencies, ...ours.devDependencies };
    for (const template of listTemplates(TEMPLATES_DIR)) {
      const manifest = readJson(join(REPO_ROOT, 'templates', template.name, 'package.json'));
      for (const [name, range] of Object.entries({ ...manifest.dependencies, ...manifest.devDependencies })) {
        if (name === 'valet') continue;
        expect(range, `${template.name}: ${name}`).toBe(available[name]);
      }
    }
  });
});
