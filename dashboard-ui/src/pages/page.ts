export type Topic = 'db' | 'logs' | 'state' | 'calls';

/** A page: its element, and how it re-reads its live parts when the server says `topics` moved. */
export interface Page {
  element: HTMLElement;
  refresh(topics: Topic[]): Promise<void>;
  dispose?(): void;
}

/** Runs one refresh at a time; a request made meanwhile runs once more after it. */
export function serialized(run: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | null = null;
  let again = false;
  const go = async (): Promise<void> => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          await run();
        } while (again);
      } finally {
        running = null;
      }
    })();
    return running;
  };
  return go;
}
