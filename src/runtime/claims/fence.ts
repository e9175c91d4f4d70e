// Fencing: every claim of work (an action invocation, a scheduled call, a cron run, an email being
// sent) carries a token — the attempt number, or the run's own row — and every later write about
// that work names it (`… WHERE id = ? AND attempts = ? AND status = 'running'`). An instance that
// paused past its lease and was taken over finds its token stale: it cannot mark the work done,
// and the database writes of the work it still runs are refused before they commit.
import type { DocumentStore } from '../../storage/documents.js';
import { EngineError } from '../errors.js';

/** A check run inside a write transaction just before it commits; throws ClaimLostError to roll it back. */
export interface Fence {
  /** What the claim is on, for messages: "scheduled call 01J…". */
  readonly label: string;
  check(store: DocumentStore): Promise<void>;
}

/**
 * A 500 like `interrupted`: the server lost this call to another instance, and asking again later
 * cannot change that (it is no 409 "try later").
 */
export class ClaimLostError extends EngineError {
  constructor(label: string) {
    super(
      'claim_lost',
      `${label} was taken over by another instance (this one paused past its lease, or lost the database): its writes were not committed`,
    );
  }
}

/**
 * A fence that holds while `sql` finds the claimed row: a SELECT that returns it, or an UPDATE
 * that changes it (a done mark that commits with the work). A SELECT is enough to fence: in a
 * serializable transaction, another instance's takeover of that row either committed first (and
 * the row is not found) or conflicts with this transaction, which then runs again. And reads do
 * not queue behind each other, where an action's parallel writes each updating its claim would.
 */
export function rowFence(
  label: string,
  sql: string,
  params: () => unknown[],
  /** Called in the transaction once the fence held (an UPDATE's caller notes the change it made). */
  onHeld?: (store: DocumentStore) => void,
): Fence {
  const reads = /^\s*SELECT/i.test(sql);
  return {
    label,
    async check(store) {
      const held = reads
        ? (await store.sql.get(sql, params())) !== undefined
        : (await store.sql.run(sql, params())).changes > 0;
      if (!held) throw new ClaimLostError(label);
      onHeld?.(store);
    },
  };
}

/** All of the fences, in order (an action's own invocation inside a scheduled call's claim). */
export function allFences(fences: (Fence | undefined)[]): Fence | undefined {
  const present = fences.filter((f): f is Fence => f !== undefined);
  if (present.length <= 1) return present[0];
  return {
    label: present.map((f) => f.label).join(' in '),
    async check(store) {
      for (const fence of present) await fence.check(store);
    },
  };
}
