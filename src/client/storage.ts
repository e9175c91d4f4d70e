// Where a client keeps its pending mutations so they survive a reload or a restart: memory (the
// fallback), IndexedDB in browsers, a file in Node (file-storage.ts, kept out of browser bundles).

export interface PendingMutation {
  seq: number;
  path: string;
  args: unknown;
}

export interface QueueState {
  clientId: string;
  nextSeq: number;
  pending: PendingMutation[];
}

export interface MutationStorage {
  load(): Promise<QueueState | null>;
  save(state: QueueState): Promise<void>;
}

export class MemoryStorage implements MutationStorage {
  private state: QueueState | null = null;
  async load() {
    return this.state ? structuredClone(this.state) : null;
  }
  async save(state: QueueState) {
    this.state = structuredClone(state);
  }
}

/** The queue in the browser's IndexedDB, one record per `name`. */
export class IndexedDbStorage implements MutationStorage {
  constructor(private readonly name = 'valet-mutations') {}

  private open(): Promise<IDBDatabase> {
    return new Promise((resolve, reject) => {
      const request = indexedDB.open(this.name, 1);
      request.onupgradeneeded = () => request.result.createObjectStore('queue');
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }

  private async run<T>(mode: IDBTransactionMode, work: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
    const db = await this.open();
    try {
      return await new Promise<T>((resolve, reject) => {
        const request = work(db.transaction('queue', mode).objectStore('queue'));
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
      });
    } finally {
      db.close();
    }
  }

  async load() {
    return ((await this.run('readonly', (store) => store.get('state'))) as QueueState | undefined) ?? null;
  }

  async save(state: QueueState) {
    await this.run('readwrite', (store) => store.put(state, 'state'));
  }
}

export function defaultStorage(): MutationStorage {
  return typeof indexedDB === 'undefined' ? new MemoryStorage() : new IndexedDbStorage();
}
