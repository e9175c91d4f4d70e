// Hundreds of interleaved invocations against one database: transfers that yield between their
// reads and writes, action transactions (some failing halfway), and queries that sum twice with a
// yield between. Money is conserved only if no invocation ever sees another's uncommitted writes.
// On SQLite writes take turns; on PostgreSQL they run at once on a pool of connections, with
// twice the writers, and serialization conflicts are retried.
import { afterAll, expect, it } from 'vitest';
import { removeTempDirs } from '../helpers/apps.js';
import type { PostgresConnections } from '../../src/runtime/connections/postgres.js';
import { onPostgres, testDatabase } from '../helpers/database.js';
import { engineFor } from '../helpers/engine.js';

afterAll(removeTempDirs);

it('keeps every invariant under hundreds of concurrent, interleaving invocations', async () => {
  const { value, call, engine } = await engineFor(
    'engine-app',
    onPostgres ? { postgres: { ...testDatabase(`isolation-${process.pid}`).postgres, max: 16 } } : {},
  );
  const WRITERS = onPostgres ? 600 : 300;
  const accounts: string[] = [];
  for (let i = 0; i < 10; i++) accounts.push(await value('mutation', 'bank:open', { owner: `o${i}`, balance: 1000 }));
  const TOTAL = 10_000;

  let seed = 42;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const pair = () => {
    const from = random(10);
    return { from: accounts[from]!, to: accounts[(from + 1 + random(9)) % 10]!, amount: 1 + random(300) };
  };

  // The writers start at once; four readers keep summing until every writer is done, so reads
  // land in every phase of the writers' interleaving.
  const writers: Promise<unknown>[] = [];
  let failedHalfway = 0;
  for (let i = 0; i < WRITERS; i++) {
    const kind = i % 3;
    if (kind === 0) writers.push(value('mutation', 'bank:transfer', pair()));
    else if (kind === 1) writers.push(value('action', 'bank:transferInAction', pair()));
    else {
      writers.push(
        call('action', 'bank:transferInAction', { ...pair(), failAfterDebit: true }).then((r) => {
          // It fails halfway, unless the balance was too low to start (then it returns false).
          expect(r.status === 500 || (r.body as { value: unknown }).value === false, JSON.stringify(r)).toBe(true);
          failedHalfway++;
        }),
      );
    }
  }
  let writing = true;
  const sums: { first: number; second: number }[] = [];
  const reader = async () => {
    while (writing) sums.push(await value('query', 'bank:total'));
  };
  const readers = [reader(), reader(), reader(), reader()];
  await Promise.all(writers);
  writing = false;
  await Promise.all(readers);

  expect(failedHalfway).toBe(WRITERS / 3);
  // The readers really read while writers ran (fewer on PostgreSQL: they queue for the pool with the writers).
  expect(sums.length).toBeGreaterThan(onPostgres ? 5 : 50);
  for (const sum of sums) expect(sum).toEqual({ first: TOTAL, second: TOTAL });
  const final = await value('query', 'bank:total');
  expect(final).toEqual({ first: TOTAL, second: TOTAL });
  // On PostgreSQL the writers really ran at once: some transactions conflicted and were run again.
  if (onPostgres) expect((engine.connections as PostgresConnections).retriedConflicts).toBeGreaterThan(0);
});
