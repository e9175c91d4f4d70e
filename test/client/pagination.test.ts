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

interface LiveList {
  readonly state: PaginatedState<{ _id: string }>;
  loadMore(numItems: number): boolean;
}

/**
 * A seeded random walk of inserts, deletes, changes and loadMores on a live paginated list. After
 * every step the loaded pages, concatenated, must be exactly the query run whole (`whole()`) as
 * far as they reach (all of it once exhausted); at the end every page is loaded.
 */
async function randomWalk(options: {
  seed: number;
  steps: number;
  list: LiveList;
  whole: () => Promise<string[]>;
  insert: (next: () => number) => Promise<string>;
  remove: (id: string) => Promise<unknown>;
  change: (id: string, next: () => number) => Promise<unknown>;
}): Promise<{ ids: string[]; loads: number }> {
  const { seed, list, whole } = options;
  const next = random(seed);
  const loadedIds = () => (list.state.results as { _id: string }[]).map((entry) => entry._id);
  async function settled(step: string) {
    let all: string[] = [];
    const consistent = async () => {
      all = await whole();
      const { status } = list.state;
      const loaded = loadedIds();
      const reach = status === 'Exhausted' ? all.length : loaded.length;
      return (
        status !== 'LoadingFirstPage' &&
        status !== 'LoadingMore' &&
        JSON.stringify(loaded) === JSON.stringify(all.slice(0, reach))
      );
    };
    // Waits for the state, however long a loaded machine takes to reach it (expect.poll's deadline).
    const reached = await expect
      .poll(consistent)
      .toBe(true)
      .then(() => true)
      .catch(() => false);
    if (reached) return;
    const loaded = loadedIds();
    const lost = all.filter((id) => !loaded.includes(id));
    const twice = loaded.filter((id, i) => loaded.indexOf(id) !== i);
    throw new Error(
      `after ${step} (seed ${seed}): status ${list.state.status}; lost ${JSON.stringify(lost)}, repeated ${JSON.stringify(twice)}; loaded ${loaded.length}, whole ${all.length}`,
    );
  }

  await settled('the first page');
  const ids: string[] = [];
  let loads = 0;
  for (let step = 0; step < options.steps; step++) {
    const roll = next();
    if (roll < 0.4 || ids.length === 0) {
      ids.push(await options.insert(next));
      await settled(`step ${step}: insert`);
    } else if (roll < 0.55) {
      const [id] = ids.splice(Math.floor(next() * ids.length), 1);
      await options.remove(id!);
      await settled(`step ${step}: delete`);
    } else if (roll < 0.8) {
      await options.change(ids[Math.floor(next() * ids.length)]!, next);
      await settled(`step ${step}: change`);
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
  return { ids, loads };
}

describe('a live paginated list', async () => {
  const served = await serveFixture('engine-app');
  const client = new ValetClient(served.url, { WebSocket: WebSocket as never, reconnectDelayMs: 20 });
  afterAll(async () => {
    client.close();
    await served.stop();
  });

  it('stays equal to the whole query through 240 random steps', async () => {
    const seed = Number(process.env.VALET_PAGINATION_SEED ?? 20261122);
    const channel = `c${seed}`;
    const list = client.subscribePaginated(ref.page as never, { channel } as never, { initialNumItems: 3 }, () => {});
    const { ids, loads } = await randomWalk({
      seed,
      steps: 240,
      list: list as never,
      whole: async () =>
        ((await client.query(ref.all as never, { channel } as never)) as Entry[]).map((entry) => entry._id),
      insert: async (next) =>
        (await client.mutation(ref.add as never, { channel, rank: Math.floor(next() * 30) } as never)) as string,
      remove: (id) => client.mutation(ref.remove as never, { id } as never),
      change: (id, next) => client.mutation(ref.move as never, { id, rank: Math.floor(next() * 30) } as never),
    });
    expect((list.state.results as Entry[]).map((entry) => entry._id).sort()).toEqual([...ids].sort());
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
    const channel = `s${seed}`;
    const args = { text: 'apple pear', channel };
    const list = client.subscribePaginated(search.page as never, args as never, { initialNumItems: 2 }, () => {});
    const whole = async () =>
      ((await client.query(search.all as never, args as never)) as { _id: string }[]).map((entry) => entry._id);
    const body = (next: () => number) => BODIES[Math.floor(next() * BODIES.length)]!;
    const { loads } = await randomWalk({
      seed,
      steps: 160,
      list: list as never,
      whole,
      insert: async (next) =>
        (await client.mutation(search.send as never, { body: body(next), channel } as never)) as string,
      remove: (id) => client.mutation(search.remove as never, { id } as never),
      change: (id, next) => client.mutation(search.edit as never, { id, body: body(next) } as never),
    });
    const matching = await whole();
    expect((list.state.results as { _id: string }[]).map((entry) => entry._id)).toEqual(matching);
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
