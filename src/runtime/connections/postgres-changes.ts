// Live queries across instances. Each write transaction that changed documents writes, with its
// other writes, one row to _valet_changes saying what changed — table, id, and of the versions
// before and after only the fields some index reads (what a range read set can compare). No NOTIFY
// runs inside it: PostgreSQL serialises the commits of notifying transactions on its notify queue,
// which made every writer wait for every other. After the commit, the writer signals (one NOTIFY
// in flight per instance, however many commits it covers, naming its schema so apps sharing a
// database do not wake each other), and every other instance reads the rows past the last one it
// saw, by sequence, and hands them to its subscriptions as if the writes were local. It also reads
// every second, so a lost signal delays a change, never drops it.
//
// A sequence number is taken before its transaction commits, so rows become visible out of
// order: a number skipped over is a gap, read again until the transactions that could hold it
// have all ended (the snapshot's xmin passed the xmax seen when the gap was found; a transaction
// writing a change row had its id before it took the number, since it wrote documents first).
// A row is at most 7800 bytes: a larger batch is shortened to the tables changed, and past that to
// "anything changed", never dropped. Rows older than a minute are pruned (the highest number
// pruned is kept beside them); an instance that fell further behind, or lost its connection,
// counts everything as changed.
import pg from 'pg';
import { decodeValue, encodeValue } from '../../protocol/values.js';
import type { SchemaDefinition } from '../../server/schema.js';
import { tableDefinition } from '../../server/schema.js';
import type { DocumentChange, StoredDocument } from '../../storage/documents.js';

export const CHANGES_CHANNEL = 'valet_changes';
/** PostgreSQL's limit is 8000 bytes; this leaves room for the channel name and framing. */
const MAX_PAYLOAD = 7800;

type Fields = Record<string, unknown> | 0;
interface Notice {
  /** The instance (connections object) that wrote: it does not hear itself. */
  o: string;
  /** [table, id, before, after] with only indexed fields (search filters too); 0 for "no document". */
  c?: [string, string, Fields, Fields][];
  /** Shortened: the tables changed. */
  t?: string[];
  /** Shortened further: anything may have changed. */
  all?: 1;
}

/** The fields a read set may bound a query of `table` by: its indexes' and its search indexes' filters. */
function indexedFields(schema: SchemaDefinition<any> | null, table: string): string[] | null {
  const definition = schema
    ? (tableDefinition(schema, table) as
        | { indexes: { fields: string[] }[]; searchIndexes: { filterFields: string[] }[] }
        | undefined)
    : undefined;
  if (!definition) return null;
  return [
    ...new Set([
      ...definition.indexes.flatMap((index) => index.fields),
      ...definition.searchIndexes.flatMap((index) => index.filterFields.filter((field) => !field.includes('.'))),
    ]),
  ];
}

function pick(doc: StoredDocument | null, fields: string[] | null): Fields {
  if (!doc) return 0;
  const picked: Record<string, unknown> = { _creationTime: doc._creationTime };
  // Without a schema every field may be indexed later: send them all (a shorter notice follows if too big).
  for (const field of fields ?? Object.keys(doc))
    if (field !== '_id' && doc[field] !== undefined) picked[field] = doc[field];
  return encodeValue(picked) as Record<string, unknown>;
}

/** The NOTIFY payload for a committed batch, shortened to fit. */
export function encodeNotice(origin: string, changes: DocumentChange[], schema: SchemaDefinition<any> | null): string {
  const fields = new Map<string, string[] | null>();
  const fieldsOf = (table: string) => {
    if (!fields.has(table)) fields.set(table, indexedFields(schema, table));
    return fields.get(table)!;
  };
  const full = JSON.stringify({
    o: origin,
    c: changes.map((c) => [c.table, c.id, pick(c.before, fieldsOf(c.table)), pick(c.after, fieldsOf(c.table))]),
  } satisfies Notice);
  if (Buffer.byteLength(full) <= MAX_PAYLOAD) return full;
  const tables = JSON.stringify({ o: origin, t: [...new Set(changes.map((c) => c.table))] } satisfies Notice);
  if (Buffer.byteLength(tables) <= MAX_PAYLOAD) return tables;
  return JSON.stringify({ o: origin, all: 1 } satisfies Notice);
}

function unpick(id: string, fields: Fields): StoredDocument | null {
  if (fields === 0) return null;
  return { _id: id, ...(decodeValue(fields) as Record<string, unknown>) } as StoredDocument;
}

/** What a notice from another instance means for read sets; null when it is this instance's own. */
export function decodeNotice(payload: string, origin: string): DocumentChange[] | null {
  let notice: Notice;
  try {
    notice = JSON.parse(payload) as Notice;
  } catch {
    return [{ table: '*', id: '', before: null, after: null, coarse: true }];
  }
  if (notice.o === origin) return null;
  if (notice.c)
    return notice.c.map(([table, id, before, after]) => ({
      table,
      id,
      before: unpick(id, before),
      after: unpick(id, after),
    }));
  if (notice.t) return notice.t.map((table) => ({ table, id: '', before: null, after: null, coarse: true }));
  return [{ table: '*', id: '', before: null, after: null, coarse: true }];
}

/** Rows of the log read past the first one visible, so writes in flight at start are not missed. */
const START_WINDOW = 256n;
/** Beyond this many missing numbers at once, counting everything as changed beats tracking each. */
const MAX_GAP = 1000n;
/** A read even without a signal: a signal lost (its writer died after COMMIT) delays a change this long. */
const POLL_MS = 1_000;

const EVERYTHING: DocumentChange[] = [{ table: '*', id: '', before: null, after: null, coarse: true }];

/** Deletes the rows up to `upTo`, and notes it, so a reader still below it knows it missed some. */
export async function pruneChanges(client: pg.ClientBase, upTo: string): Promise<void> {
  await client.query(
    `WITH pruned AS (DELETE FROM _valet_changes WHERE seq <= $1)
     INSERT INTO _valet_changes_pruned (id, up_to) VALUES (1, $1)
     ON CONFLICT (id) DO UPDATE SET up_to = GREATEST(_valet_changes_pruned.up_to, excluded.up_to)`,
    [upTo],
  );
}

interface LogRow {
  xmin: string;
  xmax: string;
  pruned: string | null;
  top: string | null;
  seq: string | null;
  payload: string | null;
}

/** LISTENs on its own connection while started, reading the change log on each signal; re-opens it when lost. */
export class ChangeListener {
  private client: pg.Client | null = null;
  private stopped = true;
  private retryMs = 100;
  private timer: NodeJS.Timeout | null = null;
  private poll: NodeJS.Timeout | null = null;
  /** The highest sequence number read; null until the first read. */
  private last: bigint | null = null;
  /** Numbers below `last` not seen yet → the snapshot xmax when they were found missing. */
  private readonly gaps = new Map<bigint, bigint>();
  private reading = false;
  private readAgain = false;
  /** The schema whose log this reads (the search_path's first). */
  private schema: string | null = null;

  /** Numbers skipped over and not yet settled (committed late, or known rolled back). */
  get gapCount(): number {
    return this.gaps.size;
  }

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly origin: string,
    private readonly deliver: (changes: DocumentChange[]) => void,
    private readonly log: (line: string) => void,
  ) {}

  start(): Promise<void> {
    this.stopped = false;
    this.poll = setInterval(() => this.catchUp(), POLL_MS);
    this.poll.unref();
    return this.connect(false);
  }

  private async connect(reconnecting: boolean): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client(this.config);
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client, null));
    client.on('notification', (message) => {
      // The channel is the database's; the signal names the schema it is about (apps may share a database).
      if (message.channel === CHANGES_CHANNEL && message.payload === this.schema) this.catchUp();
    });
    try {
      await client.connect();
      this.schema = (await client.query<{ schema: string }>('SELECT current_schema() AS schema')).rows[0]!.schema;
      await client.query(`LISTEN ${CHANGES_CHANNEL}`);
    } catch (error) {
      client.removeAllListeners('end');
      await client.end().catch(() => undefined);
      if (this.stopped) return;
      this.log(`live queries across instances: cannot LISTEN (${(error as Error).message}); retrying`);
      this.retryLater();
      return;
    }
    // Stopped while connecting: an open connection would keep the process from exiting.
    if (this.stopped) {
      client.removeAllListeners('end');
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.retryMs = 100;
    if (reconnecting) {
      // A server crash empties the (unlogged) log and restarts its numbers: read it afresh, and
      // since changes may have gone unread meanwhile, count everything as changed.
      this.last = null;
      this.gaps.clear();
      this.deliver(EVERYTHING);
    }
    this.catchUp();
  }

  /** Reads the log past what was read; one read at a time, and one more if asked meanwhile. */
  catchUp(): void {
    if (this.stopped || !this.client) return;
    if (this.reading) {
      this.readAgain = true;
      return;
    }
    this.reading = true;
    void (async () => {
      try {
        do {
          this.readAgain = false;
          await this.readOnce();
        } while (this.readAgain && !this.stopped && this.client);
      } catch (error) {
        // The connection's own handlers reconnect; a read that failed is simply made again later.
        if (!this.stopped)
          this.log(`live queries across instances: reading changes failed (${(error as Error).message})`);
      } finally {
        this.reading = false;
      }
    })();
  }

  private async readOnce(): Promise<void> {
    const client = this.client;
    if (!client) return;
    const from = this.last ?? -1n;
    // One statement, one snapshot: the rows, the snapshot's transaction bounds, and the log's extent.
    const { rows } = await client.query<LogRow>(
      `WITH s AS (
         SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin, pg_snapshot_xmax(pg_current_snapshot())::text AS xmax,
                (SELECT up_to FROM _valet_changes_pruned WHERE id = 1)::text AS pruned,
                (SELECT max(seq) FROM _valet_changes)::text AS top)
       SELECT s.xmin, s.xmax, s.pruned, s.top, c.seq::text AS seq, c.payload
       FROM s LEFT JOIN _valet_changes c
         ON (c.seq > $1 AND $1 >= 0) OR c.seq = ANY($2::bigint[]) OR ($1 < 0 AND c.seq > (SELECT max(seq) FROM _valet_changes) - $3)
       ORDER BY c.seq`,
      [from.toString(), [...this.gaps.keys()].map(String), START_WINDOW.toString()],
    );
    const head = rows[0];
    if (!head) return;
    const xmin = BigInt(head.xmin);
    const xmax = BigInt(head.xmax);
    let last = this.last;
    if (last === null) {
      // First read: the window below the top counts as read up to just before its first row.
      const top = head.top === null ? 0n : BigInt(head.top);
      last = top > START_WINDOW ? top - START_WINDOW : 0n;
    } else if (head.pruned !== null && BigInt(head.pruned) > last) {
      // Rows this instance never read were pruned: it fell behind by more than the log keeps.
      this.deliver(EVERYTHING);
      last = BigInt(head.pruned);
    }
    let everything = false;
    const changes: DocumentChange[] = [];
    for (const row of rows) {
      if (row.seq === null || row.payload === null) continue;
      const seq = BigInt(row.seq);
      if (this.gaps.delete(seq)) {
        // A gap filled: its transaction committed after later ones.
      } else if (seq > last) {
        if (seq - last > MAX_GAP) everything = true;
        else for (let missing = last + 1n; missing < seq; missing++) this.gaps.set(missing, xmax);
        last = seq;
      } else continue;
      const decoded = decodeNotice(row.payload, this.origin);
      if (decoded) changes.push(...decoded);
    }
    this.last = last;
    // A gap whose possible writers have all ended (by this same snapshot) is a rolled-back number.
    for (const [missing, seenAt] of this.gaps) if (xmin >= seenAt) this.gaps.delete(missing);
    if (everything) this.deliver(EVERYTHING);
    else if (changes.length > 0) this.deliver(changes);
  }

  private lost(client: pg.Client, error: Error | null): void {
    if (this.client !== client) return;
    this.client = null;
    if (this.stopped) return;
    this.log(
      `live queries across instances: the LISTEN connection was lost${error ? ` (${error.message})` : ''}; reconnecting`,
    );
    this.retryLater();
  }

  private retryLater(): void {
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.connect(true);
    }, this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, 5_000);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.poll) clearInterval(this.poll);
    this.timer = null;
    this.poll = null;
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }
}

/** At most one signal per this many milliseconds from one instance. */
const SIGNAL_INTERVAL_MS = 2;

/** How long the log keeps a row: far longer than a read takes, short enough to stay small. */
const RETENTION_MS = 60_000;
/** How often a writer notes where the log is, to prune later what is older than the retention. */
const MARK_EVERY_MS = 10_000;

/**
 * The writer's side: after a commit, one NOTIFY naming its schema, on its own connection (one in flight at a
 * time; commits meanwhile are covered by the next), and now and then a prune of old rows.
 */
export class ChangeSignal {
  private client: pg.Client | null = null;
  private connecting: Promise<pg.Client> | null = null;
  private sending = false;
  private sendAgain = false;
  private stopped = false;
  private failing = false;
  /** Sequence numbers this instance wrote, by when: rows up to one older than the retention are pruned. */
  private marks: { at: number; seq: string }[] = [];

  private readonly retentionMs: number;
  private readonly markEveryMs: number;

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly log: (line: string) => void,
    /** The engine's clock. */
    private readonly now: () => number,
    options: { retentionMs?: number; markEveryMs?: number } = {},
  ) {
    this.retentionMs = options.retentionMs ?? RETENTION_MS;
    this.markEveryMs = options.markEveryMs ?? MARK_EVERY_MS;
  }

  /** After a commit that wrote change row `seq`. */
  committed(seq: string): void {
    const now = this.now();
    if (this.marks.length === 0 || now - this.marks.at(-1)!.at >= this.markEveryMs) this.marks.push({ at: now, seq });
    this.send();
  }

  private send(): void {
    if (this.stopped) return;
    if (this.sending) {
      this.sendAgain = true;
      return;
    }
    this.sending = true;
    void (async () => {
      do {
        this.sendAgain = false;
        try {
          const client = await this.connection();
          await client.query(`SELECT pg_notify('${CHANGES_CHANNEL}', current_schema())`);
          await this.prune(client);
          this.failing = false;
          // Under a stream of commits, one signal per interval covers them all (each costs the
          // database a transaction); a lone commit is signalled at once.
          if (this.sendAgain) await new Promise((resolve) => setTimeout(resolve, SIGNAL_INTERVAL_MS));
        } catch (error) {
          // The other instances read the log every second anyway; say so once, not per commit.
          if (!this.failing && !this.stopped)
            this.log(
              `live queries across instances: signalling failed (${(error as Error).message}); others read within a second`,
            );
          this.failing = true;
          this.drop();
          break;
        }
      } while (this.sendAgain && !this.stopped);
      this.sending = false;
    })();
  }

  private async prune(client: pg.Client): Promise<void> {
    const cutoff = this.now() - this.retentionMs;
    let upTo: string | null = null;
    while (this.marks.length > 1 && this.marks[0]!.at <= cutoff) upTo = this.marks.shift()!.seq;
    if (upTo !== null) await pruneChanges(client, upTo);
  }

  private connection(): Promise<pg.Client> {
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= (async () => {
      const client = new pg.Client(this.config);
      client.on('error', () => this.drop());
      try {
        await client.connect();
        // Stopped while connecting: an open connection would keep the process from exiting.
        if (this.stopped) throw new Error('stopped');
      } catch (error) {
        await client.end().catch(() => undefined);
        throw error;
      } finally {
        this.connecting = null;
      }
      this.client = client;
      return client;
    })();
    return this.connecting;
  }

  private drop(): void {
    const client = this.client;
    this.client = null;
    void client?.end().catch(() => undefined);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }
}
