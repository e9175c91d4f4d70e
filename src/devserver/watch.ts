// Watches valet/ and every local file the last build imported from outside it (a shared
// lib/ folder, say), never _generated/ (codegen writes there) nor node_modules; and the app's .env
// files, named explicitly since every other dot-file (.valet/, editors' temp files) is ignored.
import { existsSync } from 'node:fs';
import { basename, dirname, join, relative, sep } from 'node:path';
import type { FSWatcher } from 'chokidar';

export interface AppWatcher {
  /**
   * Watches these files too: the inputs of the latest good build, and `named` files (the .env
   * files) that are watched whatever their name, existing or not yet.
   */
  track(files: string[], named?: string[]): Promise<void>;
  close(): Promise<void>;
}

function isIgnored(path: string): boolean {
  const parts = path.split(sep);
  return (
    parts.includes('_generated') || parts.includes('node_modules') || parts.some((p) => p.startsWith('.') && p !== '..')
  );
}

/** chokidar's add() is asynchronous without telling when it is done: wait (briefly) until it is. */
async function watchedSoon(watcher: FSWatcher, files: string[]): Promise<void> {
  const isWatched = (file: string) => watcher.getWatched()[dirname(file)]?.includes(basename(file)) ?? false;
  for (let waited = 0; waited < 1000 && !files.every(isWatched); waited += 5)
    await new Promise((resolve) => setTimeout(resolve, 5));
}

export async function watchApp(appDir: string, onChange: (file: string) => void): Promise<AppWatcher> {
  const { watch } = await import('chokidar');
  const valetDir = join(appDir, 'valet');
  const named = new Set<string>();
  const ignored = (path: string) => !named.has(path) && isIgnored(relative(appDir, path));
  const watcher: FSWatcher = watch(valetDir, {
    ignoreInitial: true,
    ignored: (path: string) => ignored(path),
  });
  const extra = new Set<string>();
  const report = (path: string) => onChange(relative(appDir, path).replaceAll('\\', '/'));
  // chokidar drops a 'change' it judges redundant by comparing timestamps, which loses quick
  // successive saves on some file systems; its raw events are never dropped, so they count too.
  // Duplicates are harmless: the reload queue collects changed paths in a set.
  watcher.on('raw', (_event, name, details) => {
    const watched = (details as { watchedPath?: string } | undefined)?.watchedPath;
    if (!watched || !name) return;
    const path = basename(watched) === name ? watched : join(watched, name);
    if (!ignored(path)) report(path);
  });
  watcher.on('add', report).on('change', report).on('unlink', report).on('unlinkDir', report);
  await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  return {
    async track(files, namedFiles = []) {
      const newlyNamed = namedFiles.filter((file) => !named.has(file));
      for (const file of newlyNamed) named.add(file);
      if (newlyNamed.length) {
        watcher.add(newlyNamed);
        await watchedSoon(
          watcher,
          newlyNamed.filter((file) => existsSync(file)),
        );
      }
      const outside = files.filter((file) => !file.startsWith(valetDir + sep) && !ignored(file));
      const added = outside.filter((file) => !extra.has(file));
      const removed = [...extra].filter((file) => !outside.includes(file));
      if (added.length) {
        watcher.add(added);
        await watchedSoon(watcher, added);
      }
      if (removed.length) watcher.unwatch(removed);
      added.forEach((file) => extra.add(file));
      removed.forEach((file) => extra.delete(file));
    },
    close: () => watcher.close(),
  };
}
