// A final status write (an invocation's outcome, a scheduled call's done mark, a cron run's end,
// an email's delivery) must land, or the record lies: `running` for ever on a live instance, and
// every retry under the same key answered 409. So it is retried through storage faults with a
// bounded backoff for as long as the engine runs. The caller may not wait that long: `within`
// says whether it landed in time once the database failed it (a merely busy database is waited
// for), and the write goes on in the background either way.
import { storageFaultOf } from '../../storage/faults.js';
import type { Clock } from '../clock.js';

const FIRST_DELAY_MS = 50;
/** The longest pause between two tries: a row lands at most this long after the database is back. */
export const MAX_DELAY_MS = 2_000;

export class LastingWrites {
  private readonly pending = new Set<Promise<void>>();
  private closed = false;

  constructor(
    private readonly clock: Clock,
    private readonly log: (line: string) => void,
  ) {}

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.clock.setTimeout(resolve, ms));
  }

  /**
   * Runs `write` until it succeeds. Storage faults are retried (jittered, doubling, capped); any
   * other error is a bug and ends the tries (logged). Resolves when it landed or gave up.
   */
  land(label: string, write: () => Promise<unknown>): { done: Promise<boolean>; within(ms: number): Promise<boolean> } {
    let faulted: () => void = () => undefined;
    const firstFault = new Promise<void>((resolve) => (faulted = resolve));
    const done = (async () => {
      for (let attempt = 1, delay = FIRST_DELAY_MS; ; attempt++) {
        try {
          await write();
          if (attempt > 1) this.log(`${label}: recorded after ${attempt} tries`);
          return true;
        } catch (error) {
          if (!storageFaultOf(error)) {
            this.log(`${label}: could not be recorded: ${(error as Error)?.stack ?? String(error)}`);
            return false;
          }
          faulted();
          if (this.closed) {
            this.log(
              `${label}: not recorded (the database is unavailable and the server is stopping); another instance will take the work over`,
            );
            return false;
          }
          if (attempt === 1) this.log(`${label}: the database is unavailable; retrying until it is recorded`);
          await this.sleep(delay * (0.75 + Math.random() / 2));
          delay = Math.min(delay * 2, MAX_DELAY_MS);
        }
      }
    })();
    this.pending.add(done as Promise<unknown> as Promise<void>);
    void done.finally(() => this.pending.delete(done as Promise<unknown> as Promise<void>));
    return {
      done,
      // A busy database is waited for; only once a try has failed does the clock start.
      within: (ms) =>
        new Promise<boolean>((resolve) => {
          let timer: unknown = null;
          void firstFault.then(() => {
            timer = this.clock.setTimeout(() => resolve(false), ms);
          });
          void done.then((landed) => {
            if (timer !== null) this.clock.clearTimeout(timer);
            resolve(landed);
          });
        }),
    };
  }

  /** Waits for the writes still trying (each gives up at its next fault once closing). */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.pending]);
  }
}
