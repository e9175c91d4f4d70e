// The /api/sync WebSocket protocol, declared once for the server (src/http/sync.ts) and the
// client (src/client/valet-client.ts). JSON text frames, one message each.
import type { ErrorBody } from './errors.js';

export type ClientMessage =
  /** First message: who the client is (its persisted queue's id) and its token. */
  /** `authRef`: echoed in the answer to the token (authAccepted / authError), so a late answer is not taken for a newer token's. */
  | { type: 'hello'; clientId: string; token?: string | null; authRef?: number }
  /** A new token (sign-in, refresh): live queries re-run as the new caller. */
  | { type: 'auth'; token: string | null; authRef?: number }
  | { type: 'subscribe'; id: string; path: string; args: unknown }
  | { type: 'unsubscribe'; id: string }
  /** A queued mutation, numbered per client (and caller) from 1: applied exactly once, in order. */
  | { type: 'mutation'; seq: number; path: string; args: unknown };

export interface QueryUpdate {
  type: 'update';
  id: string;
  value?: unknown;
  error?: ErrorBody;
}

export type ServerMessage =
  /** After hello (and after a new token): the last mutation seq the server applied for this client. */
  | { type: 'welcome'; lastSeq: number }
  | QueryUpdate
  | { type: 'updates'; updates: QueryUpdate[] }
  | { type: 'mutationResult'; seq: number; status: number; value?: unknown; error?: ErrorBody }
  /** The token was refused: the connection goes on as anonymous. */
  | { type: 'authError'; error: ErrorBody; authRef?: number }
  /** The token of a hello or auth message (its authRef) was verified: the session is that user's. */
  | { type: 'authAccepted'; authRef?: number }
  /** A message could not be handled (bad JSON, unknown type, the app not built yet). */
  | { type: 'error'; error: ErrorBody };

/** Close codes the server uses; the client reconnects after each (elsewhere, for going away). */
export const SYNC_CLOSE = {
  /** The server is shutting down (SIGTERM): reconnect, perhaps to another instance. */
  goingAway: 1001,
  /** The client did not read its updates fast enough; the server dropped what it had buffered. */
  slowConsumer: 4008,
} as const;

export const MAX_SYNC_MESSAGE_BYTES = 4 * 1024 * 1024;
