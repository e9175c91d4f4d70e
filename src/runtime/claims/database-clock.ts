// On PostgreSQL several instances must agree on time: when scheduled work is due, when an email's
// lease runs out, which cron tick has come. Each instance's own clock may be off (a VM that lost
// NTP, a container with a skewed clock), so the engine's clock there is the database's: this
// machine's clock plus an offset measured against `clock_timestamp()` at start and with every
// heartbeat (the round trip's midpoint). Timers are durations and stay local. Liveness itself
// (heartbeats and reaping) is judged inside the statements, by the database alone (instances.ts).
import type { Clock } from '../clock.js';

/** An offset beyond this is worth a warning: log lines of this instance will not match the others'. */
const WARN_OFFSET_MS = 1_000;

export class DatabaseClock implements Clock {
  private offset = 0;
  private warnedOffset: number | null = null;

  constructor(
    private readonly local: Clock,
    /** The database's time in ms since the epoch. */
    private readonly readDatabaseTime: () => Promise<number>,
    private readonly log: (line: string) => void,
  ) {}

  now(): number {
    return this.local.now() + this.offset;
  }

  setTimeout(callback: () => void, ms: number): unknown {
    return this.local.setTimeout(callback, ms);
  }

  clearTimeout(handle: unknown): void {
    this.local.clearTimeout(handle);
  }

  /** How far this machine's clock is behind the database's (negative: ahead), as last measured. */
  get offsetMs(): number {
    return this.offset;
  }

  /** Measures the offset again; warns once per distinct skew of more than a second. */
  async sync(): Promise<void> {
    const before = this.local.now();
    const database = await this.readDatabaseTime();
    const after = this.local.now();
    this.offset = Math.round(database - (before + after) / 2);
    const skewed = Math.abs(this.offset) > WARN_OFFSET_MS;
    if (skewed && (this.warnedOffset === null || Math.abs(this.offset - this.warnedOffset) > WARN_OFFSET_MS)) {
      this.warnedOffset = this.offset;
      const direction = this.offset > 0 ? 'behind' : 'ahead of';
      this.log(
        `this machine's clock is ${Math.abs(this.offset)} ms ${direction} the database's: Valet times its work by the database, but this instance's log lines will be off; fix the clock (NTP)`,
      );
    } else if (!skewed) this.warnedOffset = null;
  }
}

/** The database's time in ms (PostgreSQL), read in one statement. */
export const DATABASE_TIME_SQL = 'SELECT CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS double precision) AS now';
