// A fresh database per valetTest(), cheaply: the engine's tables are migrated once per process
// into a template file, and each harness gets a copy in a temporary folder (removed on close, or
// when the process exits).
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../storage/open.js';

let template: string | null = null;
const created = new Set<string>();

function templateDatabase(): string {
  if (template) return template;
  const dir = mkdtempSync(join(tmpdir(), 'valet-test-template-'));
  created.add(dir);
  const file = join(dir, 'template.db');
  openDatabase(file).close();
  template = file;
  return file;
}

/** A new database file, already migrated; `remove` deletes it and its folder. */
export function freshDatabase(): { file: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'valet-test-'));
  created.add(dir);
  const file = join(dir, 'valet.db');
  copyFileSync(templateDatabase(), file);
  return {
    file,
    remove() {
      rmSync(dir, { recursive: true, force: true });
      created.delete(dir);
    },
  };
}

process.once('exit', () => {
  for (const dir of created) rmSync(dir, { recursive: true, force: true });
});
