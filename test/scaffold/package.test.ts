// The published packages: what `npm pack` puts in valet (exactly what an installed package needs),
// one version everywhere, and create-valet as a small template copier of its own (no dependencies).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, run, tempDir, valet } from '../helpers/apps.js';

const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'));
const createManifest = JSON.parse(readFileSync(join(REPO_ROOT, 'packages/create-valet/package.json'), 'utf8'));

describe('the valet package', () => {
  it('is publishable: not private, built before packing, with the fields a registry page shows', () => {
    expect(manifest.private).toBeUndefined();
    expect(manifest.scripts.prepack).toBe('npm run build');
    for (const field of ['license', 'repository', 'keywords', 'engines', 'description'])
      expect(manifest[field], field).toBeTruthy();
    expect(manifest.bin).toEqual({ valet: './bin/valet.js' });
  });

  it('packs exactly what an installed package needs', async () => {
    const result = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], REPO_ROOT);
    expect(result.code, result.stderr).toBe(0);
    const files: string[] = JSON.parse(result.stdout)[0].files.map((f: { path: string }) => f.path);
    const tops = [...new Set(files.map((f) => f.split('/')[0]))].sort();
    // docs/: the pages valet mcp serves to agents as resources.
    expect(tops).toEqual(['LICENSE', 'README.md', 'bin', 'dist', 'docs', 'package.json', 'templates']);
    expect(files).toEqual(
      expect.arrayContaining([
        'bin/valet.js',
        'dist/cli/main.js',
        'dist/server/index.js',
        'dist/server/index.d.ts',
        'dist/client/index.js',
        'dist/react/index.js',
        'templates/basic/valet/users.ts',
        'templates/react/src/App.tsx',
        'templates/basic/_gitignore',
        'dist/dashboard-ui/index.html',
        'dist/dashboard-ui/assets/app.js',
        'dist/dashboard-ui/assets/app.css',
        'templates/react/public/sw.js',
        'templates/_agents/AGENTS.md',
        'templates/_agents/.cursor/rules/valet.mdc',
        'docs/actions.md',
        'docs/agents.md',
      ]),
    );
    // Every file the exports map and the bin point at is in the package.
    const targets = Object.values(manifest.exports as Record<string, string | Record<string, string>>).flatMap(
      (target) => (typeof target === 'string' ? [target] : Object.values(target)),
    );
    for (const target of targets) expect(files, target).toContain(target.replace(/^\.\//, ''));
    // Test files ship only as part of a template (its example tests).
    expect(
      files.filter(
        (f) => f.endsWith('.map') || f.startsWith('src/') || (f.includes('.test.') && !f.startsWith('templates/')),
      ),
    ).toEqual([]);
    // No file points at a source map it does not ship (a debugger or bundler would warn about each).
    const dangling = files
      .filter((f) => /\.(m?js|d\.ts)$/.test(f) && existsSync(join(REPO_ROOT, f)))
      .filter((f) => {
        const reference = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(readFileSync(join(REPO_ROOT, f), 'utf8'));
        return (
          reference !== null && !reference[1]!.startsWith('data:') && !files.includes(join(dirname(f), reference[1]!))
        );
      });
    expect(dangling).toEqual([]);
    expect(files.filter((f) => f.startsWith('dist/')).length).toBeGreaterThan(100);
  });
});

describe('one version', () => {
  it('valet --version, the package, create-valet and the range new apps get all agree', () => {
    expect(valet(['--version'], tempDir()).stdout.trim()).toBe(manifest.version);
    expect(createManifest.version).toBe(manifest.version);
    const parent = tempDir();
    expect(valet(['init', 'app', '--yes', '--no-install'], parent).code).toBe(0);
    expect(JSON.parse(readFileSync(join(parent, 'app/package.json'), 'utf8')).dependencies.valet).toBe(
      `^${manifest.version}`,
    );
  });
});

describe('create-valet', () => {
  it('is a small package of its own: no dependencies, the program bundled, the templates copied (≤ 5 MB)', async () => {
    expect(createManifest.bin).toEqual({ 'create-valet': './bin/create-valet.js' });
    expect(createManifest.dependencies).toBeUndefined();
    const into = tempDir();
    const packed = await run('npm', ['pack', '-w', 'create-valet', '--pack-destination', into], REPO_ROOT);
    expect(packed.code, packed.stderr).toBe(0);
    const tar = await run('tar', ['xzf', join(into, `create-valet-${manifest.version}.tgz`), '-C', into], into);
    expect(tar.code).toBe(0);
    const unpacked = join(into, 'package');
    expect(JSON.parse(readFileSync(join(unpacked, 'package.json'), 'utf8')).dependencies).toBeUndefined();
    const files = (await run('find', ['.', '-type', 'f'], unpacked)).stdout.trim().split('\n');
    expect(files).toEqual(
      expect.arrayContaining(['./bin/create-valet.js', './dist/create-valet.js', './templates/basic/package.json']),
    );
    const bytes = Number((await run('du', ['-sb', '.'], unpacked)).stdout.split('\t')[0]);
    process.stderr.write(`create-valet installed: ${files.length} files, ${(bytes / 1024).toFixed(0)} KiB\n`);
    expect(bytes).toBeLessThan(5 * 1024 * 1024);
    // It runs from the unpacked package alone (nothing of this checkout on its path).
    const parent = tempDir();
    const made = await run(
      process.execPath,
      [join(unpacked, 'bin/create-valet.js'), 'solo', '--yes', '--no-install'],
      parent,
    );
    expect(made.code, made.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(parent, 'solo/package.json'), 'utf8')).dependencies.valet).toBe(
      `^${manifest.version}`,
    );
  });

  it('runs the same scaffold, flags and all', async () => {
    const parent = tempDir();
    const result = await run(
      process.execPath,
      [
        join(REPO_ROOT, 'packages/create-valet/bin/create-valet.js'),
        'made',
        '--template',
        'react',
        '--yes',
        '--no-install',
      ],
      parent,
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('Created react app');
    expect(readFileSync(join(parent, 'made/src/App.tsx'), 'utf8')).toContain('Your Valet app');
    const help = await run(
      process.execPath,
      [join(REPO_ROOT, 'packages/create-valet/bin/create-valet.js'), '--help'],
      parent,
    );
    expect(help.stdout).toContain('--template <name>');
  });

  it('`valet --help` shows the npx valet init example that the registry test proves', () => {
    expect(valet(['--help'], tempDir()).stdout).toContain('npx valet init my-app');
  });
});
