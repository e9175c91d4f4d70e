// Time on PostgreSQL is the database's (SPEC §13): an instance whose own clock is 45 s fast or slow
// neither takes over live instances' work, nor runs scheduled calls early, and says its clock is off.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildAndLoad } from '../../src/bundler/evaluate.js';
import { DatabaseClock } from '../../src/runtime/claims/database-clock.js';
import type { Clock } from '../../src/runtime/clock.js';
import { systemClock } from '../../src/runtime/clock.js';
import { createEngine } from '../../src/runtime/engine.js';
import type { Engine } from '../../src/runtime/engine.js';
import { listInvocations } from '../../src/runtime/invocations/store.js';
import { listScheduled } from '../../src/runtime/scheduler/store.js';
import { removeTempDirs } from '../helpers/apps.js';
import { testDatabase } from '../helpers/database.js';
import { engineFor } from '../helpers/engine.js';

afterAll(removeTempDirs);

/** This machine's clock, off by `skewMs`. */
const skewed = (skewMs: number): Clock => ({ ...systemClock, now: () => Date.now() + skewMs });

describe('the database clock', () => {
  it("reads the database's time through this machine's skewed clock, and warns once per skew", async () => {
    const lines: string[] = [];
    const local = skewed(45_000);
    const clock = new DatabaseClock(
      local,
      async () => Date.now(),
      (line) => lines.push(line),
    );
    await clock.sync();
    expect(Math.abs(clock.now() - Date.now())).toBeLessThan(1_000);
    expect(lines).toEqual([expect.stringMatching(/^this machine's clock is 45\d{3} ms ahead of the database's/)]);
    await clock.sync();
    expect(lines).toHaveLength(1);
  });
});

for (const skewMs of [45_000, -45_000]) {
  describe(`an instance whose clock is ${skewMs > 0 ? 'fast' : 'slow'} by 45 s`, async () => {
    const instances = { heartbeatMs: 50, ttlMs: 400 };
    const first = await engineFor('engine-app', { background: true, instances });
    const logs: string[] = [];
    const off: Engine = await createEngine({
      modules: await buildAndLoad(first.app),
      ...testDatabase(join(first.app, '.valet')),
      env: {},
      log: (line) => logs.push(line),
      background: true,
      instances,
      localClock: skewed(skewMs),
    });
    afterAll(async () => {
      await first.value('action', 'faults:releaseAll');
      await off.close();
      await first.engine.close();
    });
    const heartbeats = async () =>
      (await first.engine.connections.autoCommit.sql.get<{ n: number }>(
        'SELECT heartbeat_at AS n FROM _valet_instances WHERE id = ?',
        [off.instance!.id],
      ))!.n;

    it("says so, and never takes over a live instance's work", async () => {
      expect(logs.join('\n')).toMatch(/this machine's clock is 4\d{4} ms (ahead of|behind) the database's/);
      const running = first.call(
        'action',
        'faults:waitForRelease',
        { label: `live-${skewMs}` },
        { key: `live-${skewMs}` },
      );
      await expect
        .poll(
          async () => (await listInvocations(first.engine.connections.autoCommit.sql, { status: 'running' })).length,
        )
        .toBe(1);
      // Ten of the skewed instance's heartbeats, each followed by its reaping.
      for (let beat = 0, last = await heartbeats(); beat < 10; beat++) {
        await expect.poll(heartbeats, { interval: 10 }).not.toBe(last);
        last = await heartbeats();
      }
      expect(await listInvocations(first.engine.connections.autoCommit.sql, { status: 'interrupted' })).toEqual([]);
      await first.value('action', 'faults:releaseAll');
      expect(await running).toMatchObject({ status: 200 });
    });

    it('runs scheduled work when it is due by the database, not early', async () => {
      const id = await first.value('mutation', 'jobs:later', { delayMs: 1_500, job: `due-${skewMs}` });
      await expect
        .poll(
          async () =>
            (await listScheduled(first.engine.connections.autoCommit.sql)).find((row) => row.id === id)?.status,
          { timeout: 10_000 },
        )
        .toBe('done');
      const [tick] = (await first.value('query', 'jobs:ticks')).filter(
        (t: { job: string }) => t.job === `due-${skewMs}`,
      );
      // Whichever instance ran it, it ran at or after its time on the database's clock.
      expect(tick.invoker.dispatchedAt).toBeGreaterThanOrEqual(tick.invoker.scheduledAt - 100);
      expect(tick.invoker.dispatchedAt - tick.invoker.scheduledAt).toBeLessThan(30_000);
    });
  });
}
