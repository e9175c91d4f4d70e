// Reloads never overlap and bursts of saves collapse: changes collected while waiting (or while a
// reload runs) are handed to one next reload, after a short quiet period.
export class ReloadQueue {
  private pending = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> = Promise.resolve();
  private busy = false;

  constructor(
    private readonly reload: (changed: string[]) => Promise<void>,
    private readonly quietMs = 15,
  ) {}

  /** Records a changed file; the reload starts once no change has arrived for `quietMs`. */
  notify(file: string): void {
    this.pending.add(file);
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.flush(), this.quietMs);
  }

  private flush(): void {
    this.timer = null;
    if (this.busy || this.pending.size === 0) return;
    const changed = [...this.pending].sort();
    this.pending.clear();
    this.busy = true;
    this.running = this.reload(changed).finally(() => {
      this.busy = false;
      // Whatever changed during this reload goes into exactly one more.
      if (this.pending.size > 0) this.flush();
    });
  }

  /** Resolves when no reload is running (the current one, if any, has finished). */
  async idle(): Promise<void> {
    await this.running;
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.pending.clear();
  }
}
