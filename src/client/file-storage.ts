// The mutation queue in a JSON file (Node): written through a temp file and a rename, so a crash
// mid-write leaves the previous queue, never half of one.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { MutationStorage, QueueState } from './storage.js';

let writes = 0;

export class FileMutationStorage implements MutationStorage {
  /** Saves are chained: the file always ends up with the latest state, never an older one. */
  private saving: Promise<void> = Promise.resolve();

  constructor(private readonly file: string) {}

  async load(): Promise<QueueState | null> {
    try {
      return JSON.parse(await readFile(this.file, 'utf8')) as QueueState;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  save(state: QueueState): Promise<void> {
    const snapshot = JSON.stringify(state);
    this.saving = this.saving.then(async () => {
      await mkdir(dirname(this.file), { recursive: true });
      const temp = `${this.file}.${process.pid}.${++writes}.tmp`;
      await writeFile(temp, snapshot);
      await rename(temp, this.file);
    });
    return this.saving;
  }
}
