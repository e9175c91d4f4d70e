// ctx.scheduler: rows in _valet_scheduled written through the caller's write executor, so from a
// mutation they exist only if the mutation commits. The scheduled runner dispatches them.
import type { FunctionKind } from '../../server/functions.js';
import type { AnyFunctionReference } from '../../server/references.js';
import { encodeValue } from '../../protocol/values.js';
import { findNonJson } from '../../storage/documents.js';
import { newId } from '../../storage/ids.js';
import { currentCause, noteCallEvent } from '../calls/current.js';
import type { WriteExecutor } from '../database-api.js';
import { EngineError } from '../errors.js';
import { cancelScheduled } from './store.js';
import { noteScheduledChange } from './system-table.js';

function invalid(message: string): EngineError {
  return new EngineError('invalid_schedule', `ctx.scheduler: ${message}`);
}

export interface SchedulerOptions {
  write: WriteExecutor;
  now: () => number;
  scheduledBy: string;
  onScheduled: () => void;
  /** The kind of a served function, for a reference that does not carry one (a wrapper's). */
  kindOf: (path: string) => FunctionKind | undefined;
}

export function schedulerApi({ write, now, scheduledBy, onScheduled, kindOf }: SchedulerOptions) {
  const runAt = (at: Date | number, ref: AnyFunctionReference, args: unknown): Promise<string> => {
    try {
      const time = at instanceof Date ? at.getTime() : at;
      if (typeof time !== 'number' || !Number.isFinite(time))
        throw invalid('the time must be a Date or milliseconds since the epoch');
      if (!ref || typeof ref.path !== 'string')
        throw invalid('schedule a mutation or an action reference such as api.emails.send');
      const kind = ref.kind ?? kindOf(ref.path);
      if (kind !== 'mutation' && kind !== 'action') {
        throw invalid(
          ref.kind || kind
            ? 'schedule a mutation or an action reference such as api.emails.send'
            : `${ref.path} is not a function of this app`,
        );
      }
      const payload = encodeValue(args ?? {});
      const problem = findNonJson(payload, 'args', { text: true });
      if (problem) throw invalid(problem.message);
      const id = newId();
      const cause = currentCause();
      noteCallEvent({ type: 'schedule', at: now(), detail: `${kind} ${ref.path}`, id });
      return write(async (store) => {
        await store.sql.run(
          "INSERT INTO _valet_scheduled (id, function, kind, args, run_at, status, created_at, scheduled_by, caused_by) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?)",
          [id, ref.path, kind, JSON.stringify(payload), time, store.nextCreationTime(), scheduledBy, cause],
        );
        noteScheduledChange(store, id);
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
        await cancelScheduled(store, id, now());
      }),
  };
}
