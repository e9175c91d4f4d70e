// What tells an open dashboard to refresh: a poll of a few cheap markers — the database's change
// marker (any commit, by this process or another: `valet run`, another instance), the size of
// the functions' log file, the server's build state and its activity log's count of calls — every 50 ms while at least one page
// listens, and nothing at all otherwise. A page hears which of them moved, then re-reads what it
// shows through the admin API: one source of truth, and no event the page could miss for good.
import { statSync } from 'node:fs';

export type FeedTopic = 'db' | 'logs' | 'state' | 'calls';
export type FeedListener = (topics: FeedTopic[]) => void;

export interface FeedProbes {
  db(): Promise<string>;
  logsFile: string | null;
  state(): string;
  /** Moves when a call begins or ends on this server (the activity log). */
  calls(): string;
}

export class ChangeFeed {
  private readonly listeners = new Set<FeedListener>();
  private timer: NodeJS.Timeout | null = null;
  private last: Record<FeedTopic, string> | null = null;
  private polling = false;

  constructor(
    private readonly probes: FeedProbes,
    private readonly intervalMs = 50,
  ) {}

  subscribe(listener: FeedListener): () => void {
    this.listeners.add(listener);
    if (!this.timer) {
      this.timer = setInterval(() => void this.poll(), this.intervalMs);
      this.timer.unref();
    }
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.stop();
    };
  }

  /** Whether the first markers are read: from then on every change is heard. */
  get watching(): boolean {
    return this.last !== null;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.last = null;
  }

  private async read(): Promise<Record<FeedTopic, string>> {
    let db: string;
    try {
      db = await this.probes.db();
    } catch (error) {
      // A database that went away is a state of its own; the page shows what the API then says.
      db = `unreachable: ${(error as Error).message}`;
    }
    const stat = this.probes.logsFile ? statSync(this.probes.logsFile, { throwIfNoEntry: false }) : undefined;
    const logs = stat ? `${stat.size}:${stat.mtimeMs}` : '0';
    return { db, logs, state: this.probes.state(), calls: this.probes.calls() };
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const now = await this.read();
      const before = this.last;
      this.last = now;
      if (!before) return;
      const moved = (Object.keys(now) as FeedTopic[]).filter((topic) => now[topic] !== before[topic]);
      if (moved.length > 0) for (const listener of this.listeners) listener(moved);
    } finally {
      this.polling = false;
    }
  }
}
