// Timeouts on the injected clock: every query, mutation, action and route has one, and tests
// trigger them without waiting.
import type { Clock } from '../clock.js';
import { EngineError } from '../errors.js';

export interface Deadline {
  /** Rejects with the timeout error when the time is up; never resolves. */
  expired: Promise<never>;
  cancel(): void;
}

/** A timer on the injected clock, so tests trigger timeouts without waiting. */
export function startDeadline(clock: Clock, ms: number, error: () => EngineError): Deadline {
  let handle: unknown;
  const expired = new Promise<never>((_, reject) => {
    handle = clock.setTimeout(() => reject(error()), ms);
  });
  // Nobody may be listening when it fires (the work finished first); that is not an error.
  expired.catch(() => undefined);
  return { expired, cancel: () => clock.clearTimeout(handle) };
}

/** Settles with `work`, or rejects when `deadline` expires first. */
export function raceDeadline<T>(work: Promise<T>, deadline: Deadline): Promise<T> {
  return Promise.race([work, deadline.expired]);
}

/**
 * Runs `work` against a timer on the injected clock: settles with it, or rejects with `error()`
 * when the time is up first. One promise and one timer per call (queries and mutations: the
 * hottest path), where startDeadline + raceDeadline make five.
 */
export function withinDeadline<T>(clock: Clock, ms: number, error: () => EngineError, work: Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const handle = clock.setTimeout(() => reject(error()), ms);
    work.then(
      (value) => {
        clock.clearTimeout(handle);
        resolve(value);
      },
      (failure: unknown) => {
        clock.clearTimeout(handle);
        reject(failure);
      },
    );
  });
}
