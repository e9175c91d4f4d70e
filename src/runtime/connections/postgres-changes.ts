// Live queries across instances: each write transaction that changed documents sends, with its
// COMMIT, a NOTIFY on one channel saying what changed — table, id, and of the versions before and
// after only the fields some index reads (what a range read set can compare) — and every other
// instance, LISTENing on its own connection, hands that to its subscriptions as if the write were
// local. PostgreSQL caps a payload at 8000 bytes: a larger one is shortened to the tables
// changed, and past that to "anything changed", never dropped. A lost LISTEN connection is
// re-opened, and since notices may have been missed meanwhile, everything counts as changed.
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
  /** [table, id, before, after] with only indexed fields; 0 for "no document". */
  c?: [string, string, Fields, Fields][];
  /** Shortened: the tables changed. */
  t?: string[];
  /** Shortened further: anything may have changed. */
  all?: 1;
}

function indexedFields(schema: SchemaDefinition<any> | null, table: string): string[] | null {
  const definition = schema
    ? (tableDefinition(schema, table) as { indexes: { fields: string[] }[] } | undefined)
    : undefined;
  if (!definition) return null;
  return [...new Set(definition.indexes.flatMap((index) => index.fields))];
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

/** LISTENs on its own connection while started; re-opens it when lost. */
export class ChangeListener {
  private client: pg.Client | null = null;
  private stopped = true;
  private retryMs = 100;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly origin: string,
    private readonly deliver: (changes: DocumentChange[]) => void,
    private readonly log: (line: string) => void,
  ) {}

  start(): Promise<void> {
    this.stopped = false;
    return this.connect(false);
  }

  private async connect(reconnecting: boolean): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client(this.config);
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client, null));
    client.on('notification', (message) => {
      if (message.channel !== CHANGES_CHANNEL || !message.payload) return;
      const changes = decodeNotice(message.payload, this.origin);
      if (changes) this.deliver(changes);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANGES_CHANNEL}`);
    } catch (error) {
      client.removeAllListeners('end');
      await client.end().catch(() => undefined);
      this.log(`live queries across instances: cannot LISTEN (${(error as Error).message}); retrying`);
      this.retryLater();
      return;
    }
    this.client = client;
    this.retryMs = 100;
    // Notices sent while no connection listened are gone: count everything as changed.
    if (reconnecting) this.deliver([{ table: '*', id: '', before: null, after: null, coarse: true }]);
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
    this.timer = null;
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }
}
