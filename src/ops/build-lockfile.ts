// The package-lock.json of a build folder, made offline from lockfiles already on disk (the app's,
// then the Valet package's own): exactly the packages its dependencies need, with the versions,
// resolved URLs and integrity hashes that were installed here. So `npm ci --omit=dev` on the
// server installs what was tested, without a registry lookup at build time.
// Why not `npm install --package-lock-only`: npm makes a lockfile by resolving the ranges against
// the registry's metadata, so the build would need the network (or a warm cache) and could pin
// versions other than the ones installed and tested here. What this writes is npm's own format,
// copied entry for entry from lockfiles npm wrote, and `npm ci` checks every integrity hash.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

interface LockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  link?: boolean;
  [key: string]: unknown;
}

interface Lockfile {
  lockfileVersion?: number;
  packages?: Record<string, LockEntry>;
}

/** package-lock.json files from `dir` upwards (a workspace keeps one at its root). */
export function lockfilesAbove(dir: string): string[] {
  const found: string[] = [];
  for (let current = dir; ; current = dirname(current)) {
    const file = join(current, 'package-lock.json');
    if (existsSync(file)) found.push(file);
    if (dirname(current) === current) return found;
  }
}

/** Where `name` resolves from the package at `from` (a lock key), Node's way: nearest node_modules up. */
function resolveKey(packages: Record<string, LockEntry>, from: string, name: string): string | null {
  for (let base = from; ; ) {
    const key = base === '' ? `node_modules/${name}` : `${base}/node_modules/${name}`;
    if (packages[key] && !packages[key]!.link) return key;
    if (base === '') return null;
    const at = base.lastIndexOf('/node_modules/');
    base = at === -1 ? '' : base.slice(0, at);
  }
}

/**
 * A lockfile for a package whose dependencies are `dependencies`, or null when some package is in
 * none of the lockfiles (then the folder installs with `npm install --omit=dev` instead).
 */
export function lockfileFor(name: string, dependencies: Record<string, string>, lockfiles: string[]): object | null {
  for (const file of lockfiles) {
    const lock = JSON.parse(readFileSync(file, 'utf8')) as Lockfile;
    const packages = lock.packages;
    if (!packages || (lock.lockfileVersion ?? 0) < 2) continue;
    const out: Record<string, LockEntry> = { '': { name, version: '1.0.0', dependencies } };
    // Packages are placed at the top when the name is free, nested under their parent otherwise.
    const place = (oldKey: string, newParent: string, depName: string): boolean => {
      const entry = packages[oldKey]!;
      const top = `node_modules/${depName}`;
      let newKey = top;
      if (out[top] && out[top]!.version !== entry.version) newKey = `${newParent}/node_modules/${depName}`;
      if (out[newKey]) return true;
      const {
        dev: _dev,
        devOptional: _devOptional,
        peer: _peer,
        ...kept
      } = entry as LockEntry & { dev?: boolean; devOptional?: boolean; peer?: boolean };
      out[newKey] = kept;
      for (const [child, optional] of [
        ...Object.keys(entry.dependencies ?? {}).map((d) => [d, false] as const),
        ...Object.keys(entry.optionalDependencies ?? {}).map((d) => [d, true] as const),
      ]) {
        const childKey = resolveKey(packages, oldKey, child);
        if (!childKey) {
          if (optional) continue;
          return false;
        }
        if (!place(childKey, newKey, child)) return false;
      }
      return true;
    };
    // Resolved as the Valet package sees them: from node_modules/valet when the app installed it.
    const from = packages['node_modules/valet'] && !packages['node_modules/valet']!.link ? 'node_modules/valet' : '';
    const complete = Object.keys(dependencies).every((dep) => {
      const key = resolveKey(packages, from, dep);
      return key !== null && place(key, '', dep);
    });
    if (complete) return { name, version: '1.0.0', lockfileVersion: 3, requires: true, packages: out };
  }
  return null;
}
