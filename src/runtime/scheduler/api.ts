// ctx.scheduler: rows in _valet_scheduled written through the caller's write executor, so from a
// mutation they exist only if the mutation commits. The scheduled runner dispatches them.
import type { AnyFunctionReference } from '../../server/references.js';
import { encodeValue } from '../../protocol/values.js';
import { findNonJson } from '../../storage/documents.js';
import { newId } from '../../storage/ids.js';
import type { WriteExecutor } from '../database-api.js';
import { EngineError } from '../errors.js';
import { cancelScheduled } from './store.js';

function invalid(message: string): EngineError {
  return new EngineError('invalid_schedule', `ctx.scheduler: ${message}`);
}

export function schedulerApi(write: WriteExecutor, now: () => number, scheduledBy: string, onScheduled: () => void) {
  const runAt = (at: Date | number, ref: AnyFunctionReference, args: unknown): Promise<string> => {
    try {
      const time = at instanceof Date ? at.getTime() : at;
      if (typeof time !== 'number' || !Number.isFinite(time))
        throw invalid('the time must be a Date or milliseconds since the epoch');
      if (!ref || typeof ref.path !== 'string' || (ref.kind !== 'mutation' && ref.kind !== 'action')) {
        throw invalid('schedule a mutation or an action reference such as api.emails.send');
      }
      const payload = encodeValue(args ?? {});
      const problem = findNonJson(payload, 'args', { text: true });
      if (problem) throw invalid(problem.message);
      const id = newId();
      return write(async (store) => {
        await store.sql.run(
          "INSERT INTO _valet_scheduled (id, function, kind, args, run_at, status, created_at, scheduled_by) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)",
          [id, ref.path, ref.kind, JSON.stringify(payload), time, now(), scheduledBy],
        );
        return id;
      }).then((scheduled) => {
        onScheduled();
        return scheduled;
      });
    } catch (error) {
      return Promise.reject(error);
    }
  };
  return {
    runAt,
    runAfter: (delayMs: number, ref: AnyFunctionReference, args: unknown) => {
      if (typeof delayMs !== 'number' || !(delayMs >= 0))
        return Promise.reject(invalid('runAfter: the delay must be a number of milliseconds ≥ 0'));
      return runAt(now() + delayMs, ref, args);
    },
    cancel: (id: string) =>
      write(async (store) => {
        await cancelScheduled(store.sql, id, now());
      }),
  };
}
