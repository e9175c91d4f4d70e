// `valet/crons.ts` default-exports cronJobs(): the schedule the server dispatches. Targets are
// mutations or actions; they run with a system invoker. The shapes follow Convex's
// (`crons.daily('name', { hourUTC, minuteUTC }, api.x.y, args)`), and job names follow one rule,
// checked here when the module loads and by `valet check` before it ever runs.
import type { ArgsOfRef, FunctionReference } from './references.js';

type CronTarget = FunctionReference<'mutation' | 'action', any, any, any>;

export type IntervalSpec = { seconds: number } | { minutes: number } | { hours: number };
export type DayOfWeek = 'sunday' | 'monday' | 'tuesday' | 'wednesday' | 'thursday' | 'friday' | 'saturday';
const DAYS: DayOfWeek[] = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];

export interface CronJob {
  readonly name: string;
  readonly schedule: { type: 'cron'; expression: string; timezone: string } | { type: 'interval'; ms: number };
  readonly ref: CronTarget;
  readonly args: Record<string, unknown>;
  /** The stack where the job was declared, so a bad target is reported at its line in valet/crons.ts. */
  readonly definedAt?: string;
}

export interface CronOptions {
  /** IANA time zone the expression is read in; UTC when not given. */
  timezone?: string;
}

export const MAX_CRON_NAME_LENGTH = 100;

/** Why a job name is refused, or null: 1 to 100 characters, spaces allowed (as in Convex), no control characters. */
export function cronJobNameProblem(name: unknown): string | null {
  if (typeof name !== 'string' || name.trim() === '') return 'a job name must be a non-empty string';
  if (name.length > MAX_CRON_NAME_LENGTH) return `a job name must be at most ${MAX_CRON_NAME_LENGTH} characters`;
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'a job name must not contain control characters (line breaks, tabs)';
  if (name !== name.trim()) return 'a job name must not start or end with spaces';
  return null;
}

function intervalMs(spec: IntervalSpec): number {
  const [unit, amount] = Object.entries(spec ?? {})[0] ?? [];
  const unitMs: Record<string, number> = { seconds: 1000, minutes: 60_000, hours: 3_600_000 };
  if (
    Object.keys(spec ?? {}).length !== 1 ||
    !unit ||
    !(unit in unitMs) ||
    typeof amount !== 'number' ||
    !(amount > 0)
  ) {
    throw new Error('interval: give exactly one of { seconds }, { minutes }, { hours } as a positive number');
  }
  return amount * unitMs[unit]!;
}

function integerIn(value: unknown, low: number, high: number, what: string): number {
  if (!Number.isInteger(value) || (value as number) < low || (value as number) > high)
    throw new Error(`${what} must be an integer from ${low} to ${high}, got ${JSON.stringify(value)}`);
  return value as number;
}

export class CronJobs {
  readonly jobs: CronJob[] = [];

  /** A cron expression (five fields, or six with seconds), read in UTC unless `timezone` is given. */
  cron<Ref extends CronTarget>(
    name: string,
    expression: string,
    ref: Ref,
    args?: ArgsOfRef<Ref>,
    options: CronOptions = {},
  ): this {
    if (typeof expression !== 'string' || expression.trim().split(/\s+/).length < 5) {
      throw new Error(
        `cron "${name}": expected a cron expression such as "0 9 * * *", got ${JSON.stringify(expression)}`,
      );
    }
    return this.add({
      name,
      schedule: { type: 'cron', expression: expression.trim(), timezone: options.timezone ?? 'UTC' },
      ref,
      args: args ?? {},
    });
  }

  interval<Ref extends CronTarget>(name: string, every: IntervalSpec, ref: Ref, args?: ArgsOfRef<Ref>): this {
    return this.add({ name, schedule: { type: 'interval', ms: intervalMs(every) }, ref, args: args ?? {} });
  }

  hourly<Ref extends CronTarget>(name: string, at: { minuteUTC: number }, ref: Ref, args?: ArgsOfRef<Ref>): this {
    const minute = integerIn(at?.minuteUTC, 0, 59, `hourly "${name}": minuteUTC`);
    return this.cron(name, `${minute} * * * *`, ref, args);
  }

  daily<Ref extends CronTarget>(
    name: string,
    at: { hourUTC: number; minuteUTC: number },
    ref: Ref,
    args?: ArgsOfRef<Ref>,
  ): this {
    const hour = integerIn(at?.hourUTC, 0, 23, `daily "${name}": hourUTC`);
    const minute = integerIn(at?.minuteUTC, 0, 59, `daily "${name}": minuteUTC`);
    return this.cron(name, `${minute} ${hour} * * *`, ref, args);
  }

  weekly<Ref extends CronTarget>(
    name: string,
    at: { dayOfWeek: DayOfWeek; hourUTC: number; minuteUTC: number },
    ref: Ref,
    args?: ArgsOfRef<Ref>,
  ): this {
    const day = DAYS.indexOf(at?.dayOfWeek);
    if (day === -1)
      throw new Error(
        `weekly "${name}": dayOfWeek must be one of ${DAYS.join(', ')}, got ${JSON.stringify(at?.dayOfWeek)}`,
      );
    const hour = integerIn(at.hourUTC, 0, 23, `weekly "${name}": hourUTC`);
    const minute = integerIn(at.minuteUTC, 0, 59, `weekly "${name}": minuteUTC`);
    return this.cron(name, `${minute} ${hour} * * ${day}`, ref, args);
  }

  monthly<Ref extends CronTarget>(
    name: string,
    at: { day: number; hourUTC: number; minuteUTC: number },
    ref: Ref,
    args?: ArgsOfRef<Ref>,
  ): this {
    const day = integerIn(at?.day, 1, 31, `monthly "${name}": day`);
    const hour = integerIn(at.hourUTC, 0, 23, `monthly "${name}": hourUTC`);
    const minute = integerIn(at.minuteUTC, 0, 59, `monthly "${name}": minuteUTC`);
    return this.cron(name, `${minute} ${hour} ${day} * *`, ref, args);
  }

  private add(job: CronJob): this {
    const problem = cronJobNameProblem(job.name);
    if (problem) throw new Error(`cron job ${JSON.stringify(job.name)}: ${problem}`);
    if (this.jobs.some((j) => j.name === job.name)) throw new Error(`cron job "${job.name}" is declared twice`);
    if (job.ref === undefined || job.ref === null) {
      throw new Error(
        `cron job "${job.name}": its target is ${job.ref} — was the function renamed or removed? Point it at a mutation or action reference such as api.digest.send`,
      );
    }
    // A reference without a kind (a function made by a wrapper) is checked when the app loads.
    if (job.ref.kind !== undefined && job.ref.kind !== 'mutation' && job.ref.kind !== 'action') {
      throw new Error(
        `cron job "${job.name}": the target must be a mutation or an action reference such as api.digest.send`,
      );
    }
    this.jobs.push(Object.freeze({ ...job, args: job.args ?? {}, definedAt: new Error().stack }));
    return this;
  }
}

export function cronJobs(): CronJobs {
  return new CronJobs();
}
