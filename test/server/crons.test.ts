// cronJobs() with Convex's shapes, and one rule for job names: the server refuses at load time
// what `valet check` reports before anything runs.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runStaticRules } from '../../src/check/static-rules.js';
import { cronJobs, functionRef } from '../../src/server/index.js';
import { removeTempDirs, tempDir } from '../helpers/apps.js';

afterAll(removeTempDirs);

const target = functionRef('digest:send', 'action', { access: 'system' });
const expressionOf = (jobs: ReturnType<typeof cronJobs>, name: string) => {
  const schedule = jobs.jobs.find((job) => job.name === name)!.schedule;
  return schedule.type === 'cron' ? schedule.expression : schedule.ms;
};

describe('cronJobs()', () => {
  it("has Convex's hourly, daily, weekly and monthly, in UTC", () => {
    const jobs = cronJobs()
      .hourly('hourly job', { minuteUTC: 5 }, target)
      .daily('daily job', { hourUTC: 9, minuteUTC: 30 }, target, {})
      .weekly('weekly job', { dayOfWeek: 'tuesday', hourUTC: 17, minuteUTC: 0 }, target)
      .monthly('monthly job', { day: 1, hourUTC: 0, minuteUTC: 15 }, target)
      .interval('every two minutes', { minutes: 2 }, target);
    expect(
      ['hourly job', 'daily job', 'weekly job', 'monthly job', 'every two minutes'].map((name) =>
        expressionOf(jobs, name),
      ),
    ).toEqual(['5 * * * *', '30 9 * * *', '0 17 * * 2', '15 0 1 * *', 120_000]);
    expect(jobs.jobs).toHaveLength(5);
    expect(jobs.jobs.filter((job) => job.schedule.type !== 'interval' && job.schedule.timezone !== 'UTC')).toEqual([]);
  });

  it('refuses bad shapes with the field named', () => {
    expect(() => cronJobs().daily('d', { hourUTC: 24, minuteUTC: 0 }, target)).toThrow(
      'daily "d": hourUTC must be an integer from 0 to 23, got 24',
    );
    expect(() => cronJobs().weekly('w', { dayOfWeek: 'someday' as never, hourUTC: 1, minuteUTC: 0 }, target)).toThrow(
      /dayOfWeek must be one of sunday, monday/,
    );
    expect(() => cronJobs().monthly('m', { day: 0, hourUTC: 1, minuteUTC: 0 }, target)).toThrow(
      'monthly "m": day must be an integer from 1 to 31, got 0',
    );
  });

  it('allows names with spaces (as Convex does) and refuses empty, control-character and duplicate names', () => {
    expect(cronJobs().hourly('send the digest', { minuteUTC: 0 }, target).jobs[0]!.name).toBe('send the digest');
    expect(() => cronJobs().hourly('', { minuteUTC: 0 }, target)).toThrow('a job name must be a non-empty string');
    expect(() => cronJobs().hourly('two\nlines', { minuteUTC: 0 }, target)).toThrow(
      'must not contain control characters',
    );
    expect(() => cronJobs().hourly(' padded', { minuteUTC: 0 }, target)).toThrow('must not start or end with spaces');
    expect(() =>
      cronJobs().hourly('x', { minuteUTC: 0 }, target).daily('x', { hourUTC: 1, minuteUTC: 0 }, target),
    ).toThrow('cron job "x" is declared twice');
  });
});

describe('valet check on cron job names', () => {
  it('reports at their line what the server would refuse', () => {
    const app = tempDir();
    mkdirSync(join(app, 'valet'));
    writeFileSync(
      join(app, 'valet/crons.ts'),
      [
        "import { api, cronJobs } from './_generated/valet/api';",
        'export default cronJobs()',
        "  .daily('digest', { hourUTC: 9, minuteUTC: 0 }, api.digest.send)",
        "  .hourly('digest', { minuteUTC: 0 }, api.digest.send)",
        "  .interval('', { minutes: 5 }, api.digest.send)",
        "  .cron('fine name with spaces', '0 * * * *', api.digest.send);",
      ].join('\n'),
    );
    const findings = runStaticRules(app).filter((f) => f.rule === 'cron-job-name');
    expect(findings.map((f) => `${f.line}: ${f.message}`)).toEqual([
      '4: cron job "digest": "digest" is already the name of the job on line 3 (valet dev and valet start refuse it)',
      '5: cron job "": a job name must be a non-empty string (valet dev and valet start refuse it)',
    ]);
  });
});
