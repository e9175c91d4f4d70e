// Watches valet/ and every local file the last build imported from outside it (a shared
// lib/ folder, say), never _generated/ (codegen writes there) nor node_modules.
import { basename, dirname, join, relative, sep } from 'node:path';
import type { FSWatcher } from 'chokidar';

export interface AppWatcher {
  /** Watches these files too (the inputs of the latest good build). */
  track(files: string[]): Promise<void>;
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
  const watcher: FSWatcher = watch(valetDir, {
    ignoreInitial: true,
    ignored: (path: string) => isIgnored(relative(appDir, path)),
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
    if (!isIgnored(relative(appDir, path))) report(path);
  });
  watcher.on('add', report).on('change', report).on('unlink', report).on('unlinkDir', report);
  await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  return {
    async track(files) {
      const outside = files.filter((file) => !file.startsWith(valetDir + sep) && !isIgnored(relative(appDir, file)));
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
