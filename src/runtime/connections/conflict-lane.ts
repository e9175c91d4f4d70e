// The conflict lane: a write transaction that has conflicted twice runs its next attempts holding
// a PostgreSQL advisory lock that one transaction holds at a time, across every instance on the
// database. Fresh transactions do not take it, so the common case pays nothing; but on hot rows
// (many writers on a few documents, on a loaded machine) retries otherwise keep meeting each other
// and run out of attempts, where in the lane they meet only first attempts.
//
// The lock is taken at session level, before BEGIN: a serializable transaction's snapshot is taken
// by its first statement, which must come after the previous holder committed (a lock taken inside
// the transaction would be waited for with a snapshot already older than that commit). So it is
// released after COMMIT or ROLLBACK, and a connection that cannot release it is dropped, which
// releases it. A lane held too long (its holder paused, or slow) is not waited for: the attempt
// runs outside it, as any other.
import type pg from 'pg';
import type { StatementFaults } from '../../storage/fault-injection.js';
import { PgExecutor } from '../../storage/postgres/executor.js';

/** The attempt from which a write transaction runs in the lane (after two conflicts). */
export const LANE_FROM_ATTEMPT = 3;
/** The advisory lock key (next to the migration and schema locks). */
export const CONFLICT_LANE_LOCK = 7261330414;
/** How long an attempt waits for the lane before it runs outside it. */
export const LANE_WAIT_MS = 2_000;

const LOCK_NOT_AVAILABLE = '55P03';

/**
 * Enters the lane on `client` (outside any transaction); whether it did. A storage fault is
 * thrown: nothing of the transaction was sent, so it was certainly not applied.
 */
export async function enterConflictLane(client: pg.PoolClient, faults: StatementFaults): Promise<boolean> {
  try {
    // One simple query, one implicit transaction: SET LOCAL bounds only this wait.
    await new PgExecutor(client, faults).exec(
      `SET LOCAL lock_timeout = ${LANE_WAIT_MS}; SELECT pg_advisory_lock(${CONFLICT_LANE_LOCK})`,
    );
    return true;
  } catch (error) {
    // A lock timeout (55P03) is a storage fault to any other statement; here its cause says the
    // lane was held too long.
    if ((error as { cause?: { code?: string } }).cause?.code === LOCK_NOT_AVAILABLE) return false;
    throw error;
  }
}

/** Leaves the lane; false if the connection could not say so (it must be dropped, which leaves it). */
export async function leaveConflictLane(client: pg.PoolClient, faults: StatementFaults): Promise<boolean> {
  try {
    await new PgExecutor(client, faults).exec(`SELECT pg_advisory_unlock(${CONFLICT_LANE_LOCK})`);
    return true;
  } catch {
    return false;
  }
}
