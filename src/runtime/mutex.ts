/** A FIFO async lock: `run` waits its turn, runs `task`, and lets the next one in even on failure. */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();

  run<T>(task: () => T | Promise<T>): Promise<T> {
    const result = this.tail.then(task);
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}
