// A background loop on the injected clock: run, then wait for the delay the run asks for, or
// less if woken; never two runs at once; stop waits for the current run.
import type { Clock } from './clock.js';

export class Loop {
  private timer: unknown = null;
  private running: Promise<void> | null = null;
  private stopped = true;
  private wakeRequested = false;

  constructor(
    private readonly clock: Clock,
    /** Does one round of work; returns how long to wait before the next one. */
    private readonly round: () => Promise<number>,
    private readonly onError: (error: Error) => void,
    private readonly errorDelayMs = 1_000,
  ) {}

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  /** New work arrived: run as soon as the current round (if any) is done. */
  wake(): void {
    if (this.stopped) return;
    if (this.running) this.wakeRequested = true;
    else this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = this.clock.setTimeout(
      () => {
        this.timer = null;
        this.tick();
      },
      Math.max(0, ms),
    );
  }

  private tick(): void {
    if (this.stopped || this.running) return;
    let delay = this.errorDelayMs;
    this.running = this.round()
      .then((next) => {
        delay = next;
      })
      .catch((error: Error) => this.onError(error))
      .finally(() => {
        this.running = null;
        const again = this.wakeRequested;
        this.wakeRequested = false;
        this.schedule(again ? 0 : delay);
      });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }
}
