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

describe('a live paginated search', async () => {
  const served = await serveFixture('search-app');
  const client = new ValetClient(served.url, { WebSocket: WebSocket as never, reconnectDelayMs: 20 });
  afterAll(async () => {
    client.close();
    await served.stop();
  });
  const search = {
    page: functionRef('messages:page', 'query', { access: 'public' }),
    all: functionRef('messages:all', 'query', { access: 'public' }),
    send: functionRef('messages:send', 'mutation', { access: 'public' }),
    edit: functionRef('messages:edit', 'mutation', { access: 'public' }),
    remove: functionRef('messages:remove', 'mutation', { access: 'public' }),
  };
  /**
   * Bodies that match "apple pear" with both words, one, or none (an edit can move a message
   * between the results holding every word and those holding some, or out).
   */
  const BODIES = [
    'apple',
    'apple apple',
    'apples and pears',
    'an apple a day keeps it away',
    'pears only',
    'applesauce',
    'apple and pear tart',
    'pear apple pear',
  ];

  it('stays equal to the whole search through 160 random steps, relevance changing under it', async () => {
    const seed = Number(process.env.VALET_PAGINATION_SEED ?? 20261207);
    const next = random(seed);
    const channel = `s${seed}`;
    const args = { text: 'apple pear', channel };
    const list = client.subscribePaginated(search.page as never, args as never, { initialNumItems: 2 }, () => {});
    const ids: string[] = [];
    const idsOf = (entries: { _id: string }[]) => entries.map((e) => e._id);
    const body = () => BODIES[Math.floor(next() * BODIES.length)]!;

    async function settled(step: string) {
      let whole: string[] = [];
      for (let waited = 0; waited < 3000; waited += 10) {
        whole = idsOf((await client.query(search.all as never, args as never)) as { _id: string }[]);
        const state = list.state;
        const loaded = idsOf(state.results as { _id: string }[]);
        const reach = state.status === 'Exhausted' ? whole.length : loaded.length;
        if (
          state.status !== 'LoadingFirstPage' &&
          state.status !== 'LoadingMore' &&
          JSON.stringify(loaded) === JSON.stringify(whole.slice(0, reach))
        )
          return;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const loaded = idsOf(list.state.results as { _id: string }[]);
      throw new Error(
        `after ${step} (seed ${seed}): status ${list.state.status}; lost ${JSON.stringify(whole.filter((id) => !loaded.includes(id)))}, repeated ${JSON.stringify(loaded.filter((id, i) => loaded.indexOf(id) !== i))}`,
      );
    }

    await settled('the first page');
    let loads = 0;
    for (let step = 0; step < 160; step++) {
      const roll = next();
      if (roll < 0.4 || ids.length === 0) {
        ids.push((await client.mutation(search.send as never, { body: body(), channel } as never)) as string);
        await settled(`step ${step}: insert`);
      } else if (roll < 0.55) {
        const [id] = ids.splice(Math.floor(next() * ids.length), 1);
        await client.mutation(search.remove as never, { id } as never);
        await settled(`step ${step}: delete`);
      } else if (roll < 0.8) {
        await client.mutation(
          search.edit as never,
          { id: ids[Math.floor(next() * ids.length)], body: body() } as never,
        );
        await settled(`step ${step}: edit`);
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
    const matching = idsOf((await client.query(search.all as never, args as never)) as { _id: string }[]);
    expect(idsOf(list.state.results as { _id: string }[])).toEqual(matching);
    expect(loads).toBeGreaterThanOrEqual(3);
    expect(matching.length).toBeGreaterThan(5);
    list.unsubscribe();
  });

  it('updates a live search when a write changes what it finds, and only then', async () => {
    const seen: string[][] = [];
    const args = { text: 'quince', channel: 'live' };
    const subscription = client.subscribe(search.all as never, args as never, (value) => {
      if (value) seen.push((value as { body: string }[]).map((m) => m.body));
    });
    await expect.poll(() => seen.at(-1)).toEqual([]);
    const id = (await client.mutation(
      search.send as never,
      { body: 'quince jam', channel: 'live' } as never,
    )) as string;
    await expect.poll(() => seen.at(-1)).toEqual(['quince jam']);
    await client.mutation(search.edit as never, { id, body: 'quince quince jelly' } as never);
    await expect.poll(() => seen.at(-1)).toEqual(['quince quince jelly']);
    await client.mutation(search.edit as never, { id, body: 'plum jelly' } as never);
    await expect.poll(() => seen.at(-1)).toEqual([]);
    await client.mutation(search.send as never, { body: 'quince elsewhere', channel: 'other' } as never);
    await client.mutation(search.send as never, { body: 'quince tart', channel: 'live' } as never);
    await expect.poll(() => seen.at(-1)).toEqual(['quince tart']);
    await client.mutation(search.remove as never, { id } as never);
    expect(seen.flat()).not.toContain('quince elsewhere');
    subscription();
  });
});
