// SQLite's writer commits the write transactions that wait together under one COMMIT, each in a
// savepoint of its own. What must hold: FIFO order (the result of running them one by one), a
// task that throws rolled back alone, nobody answered before the COMMIT, and a failed COMMIT told
// to every task of its group with none of them applied.
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { openConnections } from '../../src/runtime/connections/open.js';
import type { Connections } from '../../src/runtime/connections/types.js';
import type { DocumentChange } from '../../src/storage/documents.js';
import { removeTempDirs, tempDir } from '../helpers/apps.js';

let connections: Connections;
let published: DocumentChange[][];

beforeEach(async () => {
  connections = await openConnections(join(tempDir(), 'group.db'), null, { now: () => Date.now() });
  published = [];
  connections.onCommit((changes) => published.push(changes));
});

afterEach(async () => {
  await connections.close();
  removeTempDirs();
});

const insert = (n: number) => connections.inWriteTransaction((store) => store.insert('notes', { n }));
const count = async () =>
  (
    await connections.autoCommit.sql.all<{ n: number }>(
      "SELECT COUNT(*) AS n FROM _valet_documents WHERE tbl = 'notes'",
    )
  )[0]!.n;

it('shares one COMMIT among the writes that wait together, in the order they came', async () => {
  const counter = await insert(0);
  // Read-modify-write: run one by one, the k-th sees k earlier increments.
  const seen = await Promise.all(
    Array.from({ length: 40 }, () =>
      connections.inWriteTransaction(async (store) => {
        const doc = await store.get(counter);
        const next = (doc!.n as number) + 1;
        await store.patch(counter, { n: next });
        return next;
      }),
    ),
  );
  expect(seen).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
  expect((await connections.autoCommit.get(counter))!.n).toBe(40);
  // The first insert committed alone; the forty that waited together, at once.
  expect(published).toHaveLength(2);
  expect(published[1]).toHaveLength(40);
});

it('rolls back a write that throws, alone, and publishes only what committed', async () => {
  const results = await Promise.allSettled([
    insert(1),
    connections.inWriteTransaction(async (store) => {
      await store.insert('notes', { n: 2 });
      throw new Error('the handler failed after its write');
    }),
    insert(3),
  ]);
  expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  expect((results[1] as PromiseRejectedResult).reason.message).toBe('the handler failed after its write');
  const stored = await connections.autoCommit.sql.all<{ doc: string }>(
    "SELECT doc FROM _valet_documents WHERE tbl = 'notes' ORDER BY creation_time",
  );
  expect(stored.map((row) => JSON.parse(row.doc).n)).toEqual([1, 3]);
  expect(published.flat().map((change) => change.after?.n)).toEqual([1, 3]);
});

it('tells every write of the group when its COMMIT fails, and applies none of them', async () => {
  connections.faults.failNext('COMMIT');
  const results = await Promise.allSettled([insert(1), insert(2), insert(3)]);
  expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
  for (const result of results) expect((result as PromiseRejectedResult).reason.code).toBe('storage_unavailable');
  expect(await count()).toBe(0);
  expect(published).toEqual([]);
  // The writer goes on.
  await insert(4);
  expect(await count()).toBe(1);
});

it('answers no write before the COMMIT of its group', async () => {
  let firstSettled = false;
  const first = insert(1).finally(() => (firstSettled = true));
  const second = connections.inWriteTransaction(async (store) => {
    // The first write's task has run; its COMMIT has not.
    expect(firstSettled).toBe(false);
    return store.insert('notes', { n: 2 });
  });
  await Promise.all([first, second]);
  expect(await count()).toBe(2);
});
