// Live pagination that never loses or repeats a row: a seeded random run of inserts, deletes and
// moves of the sort key, interleaved with loadMore, against the real server. After every step the
// loaded pages, concatenated, are exactly the query run whole as far as they reach (same rows,
// same order; all of it once exhausted); at the end every page is loaded and it is all of it.
import { WebSocket } from 'ws';
import { afterAll, describe, expect, it } from 'vitest';
import { ValetClient } from '../../src/client/index.js';
import type { PaginatedState } from '../../src/client/index.js';
import { functionRef } from '../../src/server/index.js';
import { removeTempDirs } from '../helpers/apps.js';
import { serveFixture } from '../helpers/sync-server.js';

afterAll(removeTempDirs);

const ref = {
  page: functionRef('feed:page', 'query', { access: 'public' }),
  all: functionRef('feed:all', 'query', { access: 'public' }),
  add: functionRef('feed:add', 'mutation', { access: 'public' }),
  move: functionRef('feed:move', 'mutation', { access: 'public' }),
  remove: functionRef('feed:remove', 'mutation', { access: 'public' }),
};

/** A small seeded generator (mulberry32), so a failing run can be replayed. */
function random(seed: number) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Entry = { _id: string; rank: number };

describe('a live paginated list', async () => {
  const served = await serveFixture('engine-app');
  const client = new ValetClient(served.url, { WebSocket: WebSocket as never, reconnectDelayMs: 20 });
  afterAll(async () => {
    client.close();
    await served.stop();
  });

  it('stays equal to the whole query through 240 random steps', async () => {
    const seed = Number(process.env.VALET_PAGINATION_SEED ?? 20261122);
    const next = random(seed);
    const channel = `c${seed}`;
    const states: PaginatedState<Entry>[] = [];
    const list = client.subscribePaginated(ref.page as never, { channel } as never, { initialNumItems: 3 }, (state) =>
      states.push(state as PaginatedState<Entry>),
    );
    const ids: string[] = [];
    const ids_of = (entries: Entry[]) => entries.map((e) => e._id);

    async function settled(step: string) {
      let whole: string[] = [];
      for (let waited = 0; waited < 3000; waited += 10) {
        whole = ids_of((await client.query(ref.all as never, { channel } as never)) as Entry[]);
        const state = list.state;
        const loaded = ids_of(state.results as Entry[]);
        const reach = state.status === 'Exhausted' ? whole.length : loaded.length;
        if (
          state.status !== 'LoadingFirstPage' &&
          state.status !== 'LoadingMore' &&
          JSON.stringify(loaded) === JSON.stringify(whole.slice(0, reach))
        )
          return;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const loaded = ids_of(list.state.results as Entry[]);
      const lost = whole.filter((id) => !loaded.includes(id));
      const twice = loaded.filter((id, i) => loaded.indexOf(id) !== i);
      throw new Error(
        `after ${step} (seed ${seed}): status ${list.state.status}; lost ${JSON.stringify(lost)}, repeated ${JSON.stringify(twice)}; loaded ${loaded.length}, whole ${whole.length}`,
      );
    }

    await settled('the first page');
    let loads = 0;
    for (let step = 0; step < 240; step++) {
      const roll = next();
      if (roll < 0.4 || ids.length === 0) {
        ids.push(
          (await client.mutation(ref.add as never, { channel, rank: Math.floor(next() * 30) } as never)) as string,
        );
        await settled(`step ${step}: insert`);
      } else if (roll < 0.55) {
        const [id] = ids.splice(Math.floor(next() * ids.length), 1);
        await client.mutation(ref.remove as never, { id } as never);
        await settled(`step ${step}: delete`);
      } else if (roll < 0.8) {
        await client.mutation(
          ref.move as never,
          { id: ids[Math.floor(next() * ids.length)], rank: Math.floor(next() * 30) } as never,
        );
        await settled(`step ${step}: move`);
      } else if (list.state.status === 'CanLoadMore') {
        expect(list.loadMore(1 + Math.floor(next() * 3))).toBe(true);
        loads++;
        await settled(`step ${step}: loadMore`);
      }
    }
    while (list.state.status === 'CanLoadMore') {
      list.loadMore(4);
      await settled('loading the rest');
    }
    expect(list.state.status).toBe('Exhausted');
    expect(ids_of(list.state.results as Entry[]).sort()).toEqual([...ids].sort());
    expect(loads).toBeGreaterThanOrEqual(5);
    expect(ids.length).toBeGreaterThan(10);
    list.unsubscribe();
  });

  it('answers a cursor it did not make with 400 invalid_cursor', async () => {
    for (const cursor of [
      'garbage',
      Buffer.from('[1,2]').toString('base64url'),
      Buffer.from('{"a":1}').toString('base64url'),
    ]) {
      const response = await fetch(`${served.url}/api/query`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ path: 'feed:page', args: { channel: 'x', paginationOpts: { cursor, numItems: 2 } } }),
      });
      expect(response.status, cursor).toBe(400);
      expect(await response.json()).toMatchObject({ code: 'invalid_cursor' });
    }
  });
});
