// Exactly-once, in-order mutations from a client's queue: each carries (clientId, seq), and the
// sequence belongs to the caller who used it (their principal): another caller presenting the same
// clientId gets a sequence of its own and can neither read the first one's stored results nor
// consume its numbers. The mutation's own transaction checks seq against the last applied one and
// records the new one, so a resend after a lost reply is recognised (and answered with the stored
// outcome) and a gap is refused. A mutation that fails still advances the client.
import type { DocumentStore } from '../../storage/documents.js';
import type { SqlExecutor } from '../../storage/sql.js';
import { EngineError } from '../errors.js';

export interface ClientSequence {
  clientId: string;
  /** principalOf(invoker) of the caller sending the mutation. */
  principal: string;
  seq: number;
}

/** Outcomes kept per client for answering duplicates (a queue resends far fewer than this). */
const KEEP_RESULTS = 100;

export class DuplicateMutation extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super('duplicate mutation');
  }
}

/** The last mutation id applied for this client and caller (0 for a new one). */
export async function lastSeq(sql: SqlExecutor, clientId: string, principal: string): Promise<number> {
  const row = await sql.get<{ last_seq: number }>(
    'SELECT last_seq FROM _valet_sync_clients WHERE client_id = ? AND principal = ?',
    [clientId, principal],
  );
  return row?.last_seq ?? 0;
}

/** Inside the mutation's transaction: throws DuplicateMutation or an out-of-order error, or lets it run. */
export async function checkSequence(store: DocumentStore, client: ClientSequence): Promise<void> {
  if (!Number.isInteger(client.seq) || client.seq < 1)
    throw new EngineError('invalid_request', 'a client mutation needs a positive integer seq');
  const last = await lastSeq(store.sql, client.clientId, client.principal);
  if (client.seq <= last) {
    const stored = await store.sql.get<{ status: number; body: string }>(
      'SELECT status, body FROM _valet_sync_results WHERE client_id = ? AND principal = ? AND seq = ?',
      [client.clientId, client.principal, client.seq],
    );
    throw new DuplicateMutation(stored?.status ?? 200, stored ? JSON.parse(stored.body) : { value: null });
  }
  if (client.seq !== last + 1) {
    throw new EngineError(
      'out_of_order',
      `mutation ${client.seq} from client ${client.clientId} arrived before ${last + 1}; send the queue in order`,
    );
  }
}

/** Records the outcome and advances the client; a no-op if another outcome for this seq was recorded. */
export async function recordSequence(
  store: DocumentStore,
  client: ClientSequence,
  status: number,
  body: unknown,
  now: number,
): Promise<void> {
  const { sql } = store;
  if ((await lastSeq(sql, client.clientId, client.principal)) !== client.seq - 1) return;
  await sql.run(
    `INSERT INTO _valet_sync_clients (client_id, principal, last_seq, updated_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (client_id, principal) DO UPDATE SET last_seq = excluded.last_seq, updated_at = excluded.updated_at`,
    [client.clientId, client.principal, client.seq, now],
  );
  await sql.run(
    `INSERT INTO _valet_sync_results (client_id, principal, seq, status, body) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (client_id, principal, seq) DO UPDATE SET status = excluded.status, body = excluded.body`,
    [client.clientId, client.principal, client.seq, status, JSON.stringify(body)],
  );
  await sql.run('DELETE FROM _valet_sync_results WHERE client_id = ? AND principal = ? AND seq <= ?', [
    client.clientId,
    client.principal,
    client.seq - KEEP_RESULTS,
  ]);
}
