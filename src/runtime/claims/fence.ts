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

export class ClaimLostError extends EngineError {
  constructor(label: string) {
    super('claim_lost', 409, `${label} was taken over by another instance (this one paused past its lease): its writes were not committed`);
  }
}

/** A fence that holds while `sql` (a statement counting or changing the claimed row) touches a row. */
export function rowFence(label: string, sql: string, params: () => unknown[]): Fence {
  return {
    label,
    async check(store) {
      const { changes } = await store.sql.run(sql, params());
      if (changes === 0) throw new ClaimLostError(label);
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
