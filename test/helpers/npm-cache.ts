// `npm ci` caches tarballs but not package metadata, and `npm install --offline` needs both. So
// before an e2e test proves that a new app installs offline, it puts into npm's cache exactly the
// packages (name@version, from this checkout's node_modules) that the template depends on.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { REPO_ROOT, run } from './apps.js';

interface Manifest {
  name: string;
  version: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

/** Finds `name` in node_modules the way Node does: from `fromDir` upwards. */
function installedPackageDir(name: string, fromDir: string): string | null {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dirname(dir) === dir) return null;
  }
}

/** Every installed package the template's dependencies pull in (platform packages not installed here are skipped). */
export function templateDependencyClosure(template: string): string[] {
  const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'templates', template, 'package.json'), 'utf8')) as Manifest & { devDependencies?: Record<string, string> };
  const queue = Object.keys({ ...manifest.dependencies, ...manifest.devDependencies })
    .filter((name) => name !== 'valet')
    .map((name) => ({ name, from: REPO_ROOT }));
  const seen = new Map<string, string>();
  while (queue.length > 0) {
    const { name, from } = queue.shift()!;
    const dir = installedPackageDir(name, from);
    if (!dir) continue;
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest;
    const key = `${pkg.name}@${pkg.version}`;
    if (seen.has(key)) continue;
    seen.set(key, dir);
    for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) queue.push({ name: dep, from: dir });
  }
  return [...seen.keys()].sort();
}

export async function cacheTemplateDependencies(template: string): Promise<void> {
  const packages = templateDependencyClosure(template);
  const result = await run('npm', ['cache', 'add', '--prefer-offline', ...packages], REPO_ROOT);
  if (result.code !== 0) throw new Error(`npm cache add failed:\n${result.stderr}`);
}
