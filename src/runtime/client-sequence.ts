// Exactly-once, in-order mutations from a client's queue: each carries (clientId, seq). The
// mutation's own transaction checks seq against the client's last applied one and records the new
// one, so a resend after a lost reply is recognised (and answered with the stored outcome) and a
// gap is refused. A mutation that fails still advances the client (its queue never wedges).
import type { DocumentStore } from '../storage/documents.js';
import { EngineError } from './errors.js';

export interface ClientSequence {
  clientId: string;
  seq: number;
}

/** Outcomes kept per client for answering duplicates (a queue resends far fewer than this). */
const KEEP_RESULTS = 100;

export class DuplicateMutation extends Error {
  constructor(readonly status: number, readonly body: unknown) {
    super('duplicate mutation');
  }
}

/** The last mutation id applied for a client (0 for a new client). */
export function lastSeq(store: DocumentStore, clientId: string): number {
  return (store.prepare('SELECT last_seq FROM _valet_sync_clients WHERE client_id = ?').get(clientId) as { last_seq: number } | undefined)?.last_seq ?? 0;
}

/** Inside the mutation's transaction: throws DuplicateMutation or an out-of-order error, or lets it run. */
export function checkSequence(store: DocumentStore, client: ClientSequence): void {
  if (!Number.isInteger(client.seq) || client.seq < 1) throw new EngineError('invalid_request', 400, 'a client mutation needs a positive integer seq');
  const last = lastSeq(store, client.clientId);
  if (client.seq <= last) {
    const stored = store.prepare('SELECT status, body FROM _valet_sync_results WHERE client_id = ? AND seq = ?').get(client.clientId, client.seq) as { status: number; body: string } | undefined;
    throw new DuplicateMutation(stored?.status ?? 200, stored ? JSON.parse(stored.body) : { value: null });
  }
  if (client.seq !== last + 1) {
    throw new EngineError('out_of_order', 409, `mutation ${client.seq} from client ${client.clientId} arrived before ${last + 1}; send the queue in order`);
  }
}

/** Records the outcome and advances the client; a no-op if another outcome for this seq was recorded. */
export function recordSequence(store: DocumentStore, client: ClientSequence, status: number, body: unknown, now: number): void {
  if (lastSeq(store, client.clientId) !== client.seq - 1) return;
  store
    .prepare('INSERT INTO _valet_sync_clients (client_id, last_seq, updated_at) VALUES (?, ?, ?) ON CONFLICT(client_id) DO UPDATE SET last_seq = excluded.last_seq, updated_at = excluded.updated_at')
    .run(client.clientId, client.seq, now);
  store.prepare('INSERT OR REPLACE INTO _valet_sync_results (client_id, seq, status, body) VALUES (?, ?, ?, ?)').run(client.clientId, client.seq, status, JSON.stringify(body));
  store.prepare('DELETE FROM _valet_sync_results WHERE client_id = ? AND seq <= ?').run(client.clientId, client.seq - KEEP_RESULTS);
}
