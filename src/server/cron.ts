// `valet/crons.ts` default-exports cronJobs(): the schedule the server dispatches. Targets are
// mutations or actions; they run with a system invoker.
import type { ArgsOfRef, FunctionReference } from './references.js';

type CronTarget = FunctionReference<'mutation' | 'action', any, any, any>;

export type IntervalSpec = { seconds: number } | { minutes: number } | { hours: number };

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

function intervalMs(spec: IntervalSpec): number {
  const [unit, amount] = Object.entries(spec)[0] ?? [];
  const unitMs: Record<string, number> = { seconds: 1000, minutes: 60_000, hours: 3_600_000 };
  if (Object.keys(spec).length !== 1 || !unit || !(unit in unitMs) || typeof amount !== 'number' || !(amount > 0)) {
    throw new Error('interval: give exactly one of { seconds }, { minutes }, { hours } as a positive number');
  }
  return amount * unitMs[unit]!;
}

export class CronJobs {
  readonly jobs: CronJob[] = [];

  cron<Ref extends CronTarget>(name: string, expression: string, ref: Ref, args: ArgsOfRef<Ref>, options: CronOptions = {}): this {
    if (typeof expression !== 'string' || expression.trim().split(/\s+/).length < 5) {
      throw new Error(`cron "${name}": expected a cron expression such as "0 9 * * *", got ${JSON.stringify(expression)}`);
    }
    return this.add({ name, schedule: { type: 'cron', expression: expression.trim(), timezone: options.timezone ?? 'UTC' }, ref, args });
  }

  interval<Ref extends CronTarget>(name: string, every: IntervalSpec, ref: Ref, args: ArgsOfRef<Ref>): this {
    return this.add({ name, schedule: { type: 'interval', ms: intervalMs(every) }, ref, args });
  }

  private add(job: CronJob): this {
    if (!/^[\w.-]+$/.test(job.name)) throw new Error(`cron job name ${JSON.stringify(job.name)}: use letters, digits, "_", "-" and "."`);
    if (this.jobs.some((j) => j.name === job.name)) throw new Error(`cron job "${job.name}" is declared twice`);
    if (job.ref === undefined || job.ref === null) {
      throw new Error(`cron job "${job.name}": its target is ${job.ref} — was the function renamed or removed? Point it at a mutation or action reference such as api.digest.send`);
    }
    if (job.ref.kind !== 'mutation' && job.ref.kind !== 'action') {
      throw new Error(`cron job "${job.name}": the target must be a mutation or an action reference such as api.digest.send`);
    }
    this.jobs.push(Object.freeze({ ...job, args: job.args ?? {}, definedAt: new Error().stack }));
    return this;
  }
}

export function cronJobs(): CronJobs {
  return new CronJobs();
}
