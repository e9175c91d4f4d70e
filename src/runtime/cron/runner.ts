// Dispatches cron jobs. Each job's last tick is kept in _valet_cron_state and advanced in the same
// write that records the run, so a clock that jumps backwards never runs a tick twice; ticks missed
// while the server was down become one run flagged catchUp with missedRuns; a tick that arrives
// while the job's previous run is still going is recorded as skipped. Each run's row is its claim
// (claims/fence.ts): a mutation's writes commit together with the run's `succeeded`, an action's
// writes only while the run is still this instance's, and the end of a run is recorded through
// storage faults (claims/lasting-write.ts). On PostgreSQL the clock is the database's, so an
// instance with a fast clock cannot take a tick early.
import type { CallLog } from '../calls/log.js';
import type { CallResponse } from '../call/types.js';
import type { Invoker } from '../../server/ctx.js';
import type { CronJob } from '../../server/cron.js';
import { newId } from '../../storage/ids.js';
import { TRANSIENT_CODES } from '../../storage/faults.js';
import { rowFence } from '../claims/fence.js';
import type { Clock } from '../clock.js';
import type { Connections } from '../connections/types.js';
import { Loop } from '../loop.js';
import type { ClaimingWorkerOptions, Invoke } from '../scheduler/runner.js';
import { nextRunOf, scheduleOf, ticksBetween } from './schedule.js';
import type { JobSchedule } from './schedule.js';

const MAX_WAIT_MS = 60_000;
/** A single tick dispatched later than this counts as caught up (the server was not running). */
const LATE_MS = 60_000;

interface Due {
  job: CronJob;
  runId: string;
  scheduledAt: number;
  catchUp: boolean;
  missedRuns: number;
}

/** Tries of a tick whose call failed for want of the database: 0.5 + 1 + 2 + 4 s. */
const TICK_RETRIES = 4;
const TICK_RETRY_BASE_MS = 500;

/** The run still this instance's to finish. */
const STILL_RUNNING = "WHERE id = ? AND status = 'running'";

export class CronRunner {
  private readonly loop: Loop;
  private readonly connections: Connections;
  private readonly clock: Clock;
  private readonly invoke: Invoke;
  private readonly log: (line: string) => void;
  private readonly instance: string | null;
  private schedules = new Map<string, { job: CronJob; schedule: JobSchedule }>();
  private readonly inFlight = new Set<Promise<void>>();
  /** Each job's last tick as of the latest claim: the next wake-up is anchored to it. */
  private readonly lastTicks = new Map<string, number>();

  constructor(private readonly options: ClaimingWorkerOptions & { calls?: CallLog }) {
    this.connections = options.connections;
    this.clock = options.clock;
    this.invoke = options.invoke;
    this.log = options.log;
    this.instance = options.instance ?? null;
    this.loop = new Loop(
      options.clock,
      () => this.round(),
      (error) => options.log(`cron: ${error.message}`),
    );
  }

  /** New job definitions (each dev reload); validates every expression first. */
  setJobs(jobs: readonly CronJob[]): void {
    const next = new Map(jobs.map((job) => [job.name, { job, schedule: scheduleOf(job) }]));
    this.schedules = next;
    this.loop.wake();
  }

  jobs(): { job: CronJob; schedule: JobSchedule }[] {
    return [...this.schedules.values()];
  }

  /**
   * Claims the due ticks of every job in one write transaction; returns what to dispatch. Each
   * job's state row is read and advanced inside it, so on PostgreSQL two instances claiming the
   * same tick conflict, one retries, and sees the tick already taken: each tick runs once.
   */
  private claim(now: number): Promise<Due[]> {
    return this.connections.inWriteTransaction(async (store) => {
      const { sql } = store;
      const due: Due[] = [];
      const lastTicks = new Map<string, number>();
      for (const { job, schedule } of this.schedules.values()) {
        const state = await sql.get<{ last_tick: number }>('SELECT last_tick FROM _valet_cron_state WHERE job = ?', [
          job.name,
        ]);
        if (!state) {
          // A job starts counting from when it is first seen: no catch-up for its prehistory.
          await sql.run('INSERT INTO _valet_cron_state (job, last_tick) VALUES (?, ?)', [job.name, now]);
          lastTicks.set(job.name, now);
          continue;
        }
        lastTicks.set(job.name, state.last_tick);
        const { count, latest } = ticksBetween(schedule, state.last_tick, now);
        if (latest === null) continue;
        await sql.run('UPDATE _valet_cron_state SET last_tick = ? WHERE job = ?', [latest, job.name]);
        lastTicks.set(job.name, latest);
        const catchUp = count > 1 || now - latest > LATE_MS;
        const runId = newId();
        const running = await sql.get(
          "SELECT 1 AS running FROM _valet_cron_runs WHERE job = ? AND status = 'running' LIMIT 1",
          [job.name],
        );
        await sql.run(
          'INSERT INTO _valet_cron_runs (id, job, function, status, scheduled_at, dispatched_at, catch_up, missed_runs, trigger, instance) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
          [
            runId,
            job.name,
            job.ref.path,
            running ? 'skipped' : 'running',
            latest,
            now,
            catchUp ? 1 : 0,
            catchUp ? count : 0,
            'schedule',
            this.instance,
          ],
        );
        if (!running) due.push({ job, runId, scheduledAt: latest, catchUp, missedRuns: catchUp ? count : 0 });
      }
      // Only a committed claim moves the wake-up anchors (a retried one starts over).
      for (const [name, tick] of lastTicks) this.lastTicks.set(name, tick);
      return due;
    });
  }

  private async dispatch(due: Due, dispatchedAt: number, source: 'cron' | 'admin'): Promise<void> {
    const invoker: Invoker = { type: 'system', source, job: due.job.name, scheduledAt: due.scheduledAt, dispatchedAt };
    if (due.catchUp) Object.assign(invoker, { catchUp: true, missedRuns: due.missedRuns });
    const label = `cron run ${due.runId} (${due.job.name})`;
    const kind = due.job.ref.kind as 'mutation' | 'action';
    const fence =
      kind === 'mutation'
        ? rowFence(label, `UPDATE _valet_cron_runs SET status = 'succeeded', finished_at = ? ${STILL_RUNNING}`, () => [
            this.clock.now(),
            due.runId,
          ])
        : rowFence(label, `SELECT 1 AS held FROM _valet_cron_runs ${STILL_RUNNING}`, () => [due.runId]);
    // The tick is a call of its own in the activity log: the job's function runs under it.
    const tick = this.options.calls?.begin({
      kind: 'cron',
      path: due.job.name,
      source: source === 'cron' ? 'cron' : 'admin',
      caller: `system:${source}`,
    });
    const started = performance.now();
    const origin = { source: 'cron' as const, parent: tick ? { id: tick.id, root: tick.root } : null };
    let response: CallResponse;
    try {
      response = await this.invoke(kind, due.job.ref.path, due.job.args, invoker, fence, origin);
      // A failure that decided nothing (the database out of reach) is tried again, briefly: the
      // tick is this run's, and a blip should not cost it.
      for (
        let retry = 0;
        retry < TICK_RETRIES && TRANSIENT_CODES.has((response.body as { code?: string }).code ?? '');
        retry++
      ) {
        await new Promise<void>((resolve) => this.clock.setTimeout(resolve, TICK_RETRY_BASE_MS * 2 ** retry));
        response = await this.invoke(kind, due.job.ref.path, due.job.args, invoker, fence, origin);
      }
    } catch (error) {
      if (tick)
        this.options.calls!.finish(tick, performance.now() - started, {
          code: 'internal_error',
          message: String(error),
        });
      throw error;
    }
    if (tick) {
      const body = response.body as { code: string; message: string };
      const failed = response.status === 200 ? null : { code: body.code, message: body.message };
      this.options.calls!.finish(tick, performance.now() - started, failed);
    }
    if (response.status === 200 && kind === 'mutation') return;
    const error = response.status === 200 ? null : JSON.stringify(response.body);
    if ((response.body as { code?: string }).code === 'claim_lost') return this.options.onLostClaim(label);
    if (error) this.log(`cron job ${due.job.name} failed: ${error}`);
    await this.options.lasting.land(label, async () => {
      const { changes } = await this.connections.inWriteTransaction((store) =>
        store.sql.run(`UPDATE _valet_cron_runs SET status = ?, finished_at = ?, error = ? ${STILL_RUNNING}`, [
          error ? 'failed' : 'succeeded',
          this.clock.now(),
          error,
          due.runId,
        ]),
      );
      if (changes === 0) this.options.onLostClaim(label);
    }).done;
  }

  private track(work: Promise<void>): void {
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }

  /** One round: dispatch what is due (without waiting for it), return the time to the next tick. */
  async round(): Promise<number> {
    const now = this.clock.now();
    for (const due of await this.claim(now)) this.track(this.dispatch(due, now, 'cron'));
    let next = MAX_WAIT_MS;
    for (const { job, schedule } of this.schedules.values()) {
      const tick = nextRunOf(schedule, this.lastTicks.get(job.name), now);
      if (tick !== null) next = Math.min(next, tick - this.clock.now());
    }
    return Math.max(0, next);
  }

  /** Resolves once every dispatched run has finished (tests drive time and then wait for this). */
  async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
  }

  /** Runs a job now, as an admin trigger (recorded like any run). */
  async trigger(name: string): Promise<{ runId: string }> {
    const entry = this.schedules.get(name);
    if (!entry) throw new Error(`no cron job "${name}" (jobs: ${[...this.schedules.keys()].join(', ') || 'none'})`);
    const now = this.clock.now();
    const runId = newId();
    await this.connections.inWriteTransaction((store) =>
      store.sql.run(
        "INSERT INTO _valet_cron_runs (id, job, function, status, scheduled_at, dispatched_at, trigger, instance) VALUES (?, ?, ?, 'running', ?, ?, 'admin', ?)",
        [runId, name, entry.job.ref.path, now, now, this.instance],
      ),
    );
    await this.dispatch({ job: entry.job, runId, scheduledAt: now, catchUp: false, missedRuns: 0 }, now, 'admin');
    return { runId };
  }

  start(): void {
    this.loop.start();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
    await Promise.all(this.inFlight);
  }
}
