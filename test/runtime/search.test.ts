// Full-text search through ctx.db on the real engine (and again on PostgreSQL, the same file):
// words, prefixes and folding, filters, relevance order, consistency with writes, hostile strings,
// limits, and search indexes added to or removed from a table that holds documents.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildAndLoad } from '../../src/bundler/evaluate.js';
import { runCodegen } from '../../src/codegen/index.js';
import { encodeNotice } from '../../src/runtime/connections/postgres-changes.js';
import { defineSchema, defineTable, v } from '../../src/server/index.js';
import { removeTempDirs } from '../helpers/apps.js';
import { engineFor } from '../helpers/engine.js';

afterAll(removeTempDirs);

type Message = { _id: string; body: string; channel: string };
const bodies = (messages: Message[]) => messages.map((message) => message.body);

describe('withSearchIndex', async () => {
  const { call, value, engine } = await engineFor('search-app');
  afterAll(() => engine.close());
  const search = async (text: string, filters: Record<string, unknown> = {}) =>
    bodies(await value('query', 'messages:search', { text, ...filters }));
  const send = (body: string, channel = 'general', extra: Record<string, unknown> = {}) =>
    value('mutation', 'messages:send', { body, channel, ...extra }) as Promise<string>;

  it('matches any of the words, the last one also as a prefix, ignoring case and accents', async () => {
    await send('Hello World from the harbour', 'words');
    await send('hello there', 'words');
    await send('Crème Brûlée recipe, ÉCLAIRS too', 'words');
    await send('The word is HELLO-world_wide', 'words');
    await send('İstanbul Straße ﬁne', 'words');
    const inWords = (text: string) => search(text, { channel: 'words' });
    // Those holding more of the words first ("wor" also finds "word" and "world").
    expect(await inWords('hello wor')).toEqual([
      'The word is HELLO-world_wide',
      'Hello World from the harbour',
      'hello there',
    ]);
    expect(await inWords('hello')).toHaveLength(3);
    // Earlier words match whole words only: "hel" is not "hello" unless it is the last word.
    expect(await inWords('hel there')).toEqual(['hello there']);
    expect((await inWords('there hel'))[0]).toBe('hello there');
    expect(await inWords('there hel')).toHaveLength(3);
    expect(await inWords('creme brulee')).toEqual(['Crème Brûlée recipe, ÉCLAIRS too']);
    expect(await inWords('CRÈME éclair')).toEqual(['Crème Brûlée recipe, ÉCLAIRS too']);
    expect(await inWords('strasse')).toEqual([]);
    expect(await inWords('istanbul straße fine')).toEqual(['İstanbul Straße ﬁne']);
    expect(await inWords('ISTANBUL')).toEqual(['İstanbul Straße ﬁne']);
    expect(await inWords('harbour hello')).toEqual([
      'Hello World from the harbour',
      'hello there',
      'The word is HELLO-world_wide',
    ]);
    expect(await inWords('nothing matches this')).toEqual([]);
  });

  it('narrows by equality on filter fields', async () => {
    await send('deploy finished', 'ops', { author: 'ada' });
    await send('deploy failed', 'ops', { author: 'grace' });
    await send('deploy party tonight', 'social', { author: 'ada' });
    expect((await search('deploy', { channel: 'ops' })).sort()).toEqual(['deploy failed', 'deploy finished']);
    expect((await search('deploy', { author: 'ada' })).sort()).toEqual(['deploy finished', 'deploy party tonight']);
    expect(await search('deploy', { channel: 'ops', author: 'grace' })).toEqual(['deploy failed']);
    expect(await search('deploy', { channel: 'nowhere' })).toEqual([]);
    // A missing field equals null, as in indexes.
    await send('deploy unsigned', 'ops');
    const unsigned = await value('query', 'messages:loose', {
      index: 'search_body',
      field: 'body',
      text: 'deploy',
      eq: { field: 'author', value: null },
    });
    expect(bodies(unsigned)).toEqual(['deploy unsigned']);
  });

  it('orders by relevance: more occurrences first, then shorter text, then newest', async () => {
    const channel = 'relevance';
    await send('zebra', channel);
    await send('zebra zebra zebra and a lot of other words that make this message rather long', channel);
    await send('zebra zebra', channel);
    await send('a zebra in a long sentence with many more words than the others have', channel);
    await send('zebra crossing', channel);
    await send('zebra crossing', channel);
    const found = await value('query', 'messages:search', { text: 'zebra', channel });
    expect(bodies(found)).toEqual([
      'zebra zebra',
      'zebra zebra zebra and a lot of other words that make this message rather long',
      'zebra',
      'zebra crossing',
      'zebra crossing',
      'a zebra in a long sentence with many more words than the others have',
    ]);
    // A tie in relevance: the newer first.
    expect(found[3]._creationTime).toBeGreaterThan(found[4]._creationTime);
    // A prefix counts every word it starts.
    await send('zeal zealous zealot', 'prefix');
    await send('zeal', 'prefix');
    expect(await search('zea', { channel: 'prefix' })).toEqual(['zeal zealous zealot', 'zeal']);
  });

  it('treats any text as plain words: no query syntax, no SQL', async () => {
    await send('near the sea or the ocean', 'hostile');
    await send('select star from users', 'hostile');
    const hostile = [
      '"',
      "'",
      '*',
      'NEAR(sea ocean)',
      'sea OR ocean',
      "' OR 1=1 --",
      'sea & !ocean | (x)',
      'body:sea',
      '\\',
      'sea*',
      '^sea',
      '"sea" NOT ocean',
      'select * from users',
      'sea:*',
      '🌊 sea',
      'a'.repeat(10_000),
      Array.from({ length: 200 }, (_, i) => `w${i}`).join(' '),
    ];
    for (const text of hostile) {
      const response = await call('query', 'messages:search', { text, channel: 'hostile' });
      expect(response.status, text).toBe(200);
    }
    expect(await search('NEAR(sea ocean)', { channel: 'hostile' })).toEqual(['near the sea or the ocean']);
    expect(await search('sea OR ocean', { channel: 'hostile' })).toEqual(['near the sea or the ocean']);
    expect(await search("sea' OR 1=1 --", { channel: 'hostile' })).toEqual(['near the sea or the ocean']);
    expect(await search("x' AND 1=1; DROP TABLE messages --", { channel: 'hostile' })).toEqual([]);
    expect(await search('select * from users', { channel: 'hostile' })).toEqual(['select star from users']);
    expect(await search('"sea" NOT ocean', { channel: 'hostile' })).toEqual(['near the sea or the ocean']);
    expect(await search('NOT', { channel: 'hostile' })).toEqual([]);
  });

  it('finds nothing for a search with no words', async () => {
    await send('something to find', 'empty');
    for (const text of ['', '   ', '*', '"" \'\'', '!?.,;:', '\t\n']) expect(await search(text)).toEqual([]);
  });

  it('follows inserts, patches, replaces and deletes, and a rolled-back mutation leaves no trace', async () => {
    const id = await send('first draft of the plan', 'writes');
    expect(await search('draft', { channel: 'writes' })).toEqual(['first draft of the plan']);
    await value('mutation', 'messages:edit', { id, body: 'final version of the plan' });
    expect(await search('draft', { channel: 'writes' })).toEqual([]);
    expect(await search('final plan', { channel: 'writes' })).toEqual(['final version of the plan']);
    // A patch that leaves the searched field alone keeps the document found (under its new channel).
    await value('mutation', 'messages:edit', { id, channel: 'moved' });
    expect(await search('final plan', { channel: 'moved' })).toEqual(['final version of the plan']);
    await value('mutation', 'messages:rewrite', { id, body: 'rewritten entirely', channel: 'writes' });
    expect(await search('final')).not.toContain('final version of the plan');
    expect(await search('rewritten', { channel: 'writes' })).toEqual(['rewritten entirely']);
    await value('mutation', 'messages:remove', { id });
    expect(await search('rewritten')).toEqual([]);
    expect((await call('mutation', 'messages:sendThenFail', { body: 'ghostly words', channel: 'writes' })).status).toBe(
      500,
    );
    expect(await search('ghostly')).toEqual([]);
  });

  it("sees a mutation's own writes", async () => {
    await send('kiwi one', 'own');
    expect(
      (await value('mutation', 'messages:sendThenSearch', { body: 'kiwi two', channel: 'own', text: 'kiwi' })).sort(),
    ).toEqual(['kiwi one', 'kiwi two']);
  });

  it('takes .filter(), first() and unique() after the search', async () => {
    await send('mango low', 'filter', { rank: 1 });
    await send('mango high', 'filter', { rank: 9 });
    await send('mango higher', 'filter', { rank: 10 });
    expect(bodies(await value('query', 'messages:ranked', { text: 'mango', min: 9 })).sort()).toEqual([
      'mango high',
      'mango higher',
    ]);
    expect(await value('query', 'messages:firstAndUnique', { text: 'low' })).toMatchObject({
      first: { body: 'mango low' },
      unique: { body: 'mango low' },
    });
    // A handler's own mistake, as for other queries: invalid_query, a 500.
    expect(await call('query', 'messages:firstAndUnique', { text: 'mango' })).toMatchObject({
      status: 500,
      body: { code: 'invalid_query', message: expect.stringContaining('unique: more than one document') },
    });
  });

  it('returns at most 1024 documents, and says so when asked for more', async () => {
    const messages = Array.from({ length: 1030 }, (_, i) => ({ body: `bulk item ${i}`, channel: 'bulk' }));
    await value('mutation', 'messages:sendMany', { messages });
    expect(await value('query', 'messages:all', { text: 'bulk', channel: 'bulk' })).toHaveLength(1024);
    expect(await call('query', 'messages:search', { text: 'bulk', limit: 1025 })).toMatchObject({
      status: 500,
      body: { code: 'invalid_query', message: expect.stringContaining('at most 1024 documents') },
    });
  });

  it('names the mistake in a misused search', async () => {
    const loose = (args: Record<string, unknown>) => call('query', 'messages:loose', args);
    expect(await loose({ index: 'nope', field: 'body', text: 'x' })).toMatchObject({
      status: 500,
      body: {
        code: 'invalid_query',
        message: 'table "messages" has no search index "nope" (search indexes: search_body)',
      },
    });
    expect(await loose({ index: 'search_body', field: 'channel', text: 'x' })).toMatchObject({
      status: 500,
      body: { message: expect.stringContaining('this index searches "body"') },
    });
    expect(await loose({ index: 'search_body', field: 'body', text: 42 })).toMatchObject({
      status: 500,
      body: { message: expect.stringContaining('takes the text to find, a string') },
    });
    expect(
      await loose({ index: 'search_body', field: 'body', text: 'x', eq: { field: 'rank', value: 1 } }),
    ).toMatchObject({
      status: 500,
      body: { message: expect.stringContaining('"rank" is not a filter field of this index (channel, author)') },
    });
    expect(await loose({ index: 'search_body', field: 'body', text: 'x', take: -1 })).toMatchObject({
      status: 500,
      body: { code: 'invalid_query' },
    });
  });

  it('indexes only text: a search field holding anything else is left out', async () => {
    await value('mutation', 'notes:add', { text: 'forty two' });
    await value('mutation', 'notes:add', { text: 42 });
    await value('mutation', 'notes:add', { text: ['forty', 'two'] });
    await value('mutation', 'notes:add', { text: null });
    expect((await value('query', 'notes:search', { text: 'forty' })).map((n: { text: unknown }) => n.text)).toEqual([
      'forty two',
    ]);
    expect(await value('query', 'notes:search', { text: '42' })).toEqual([]);
  });

  it('keeps the document and its index row together when a storage fault hits either statement', async () => {
    const faults = engine.connections.faults;
    const table = 'valet_search__messages__search_body';
    for (const statement of ['INSERT INTO _valet_documents', `INSERT INTO "${table}"`]) {
      faults.failNext(statement);
      expect(await call('mutation', 'messages:send', { body: 'walnut fault', channel: 'faults' })).toMatchObject({
        status: 503,
        body: { code: 'storage_unavailable' },
      });
      expect(await search('walnut', { channel: 'faults' })).toEqual([]);
    }
    const id = await send('walnut fault', 'faults');
    for (const statement of [`DELETE FROM "${table}"`, `INSERT INTO "${table}"`]) {
      faults.failNext(statement);
      expect(await call('mutation', 'messages:edit', { id, body: 'pecan fault' })).toMatchObject({ status: 503 });
      expect(await search('walnut', { channel: 'faults' })).toEqual(['walnut fault']);
      expect(await search('pecan', { channel: 'faults' })).toEqual([]);
    }
    faults.failNext(`DELETE FROM "${table}"`);
    expect(await call('mutation', 'messages:remove', { id })).toMatchObject({ status: 503 });
    expect(await search('walnut', { channel: 'faults' })).toEqual(['walnut fault']);
    faults.failNext(`FROM "${table}`);
    expect(await call('query', 'messages:search', { text: 'walnut' })).toMatchObject({
      status: 503,
      body: { code: 'storage_unavailable' },
    });
    expect(faults.fired).toBeGreaterThanOrEqual(6);
    await value('mutation', 'messages:remove', { id });
    expect(await search('walnut')).toEqual([]);
  });

  it('searches and filters a field inside a nested object by its dotted path', async () => {
    await value('mutation', 'notes:addArticle', { title: 'Rivers of Europe', lang: 'en' });
    await value('mutation', 'notes:addArticle', { title: 'Rivières d’Europe', lang: 'fr' });
    expect(await value('query', 'notes:searchArticles', { text: 'europe', lang: 'fr' })).toEqual(['Rivières d’Europe']);
    expect(await value('query', 'notes:searchArticles', { text: 'rivieres', lang: 'en' })).toEqual([]);
  });

  it('pages through results in relevance order, with cursors a query of another shape refuses', async () => {
    for (const body of ['pear', 'pear pear', 'pear pie', 'pear tart', 'pear jam']) await send(body, 'pages');
    const seen: string[] = [];
    let cursor: string | null = null;
    for (;;) {
      const result: { page: Message[]; isDone: boolean; continueCursor: string } = await value(
        'query',
        'messages:page',
        { text: 'pear', channel: 'pages', paginationOpts: { cursor, numItems: 2 } },
      );
      seen.push(...bodies(result.page));
      if (result.isDone) break;
      cursor = result.continueCursor;
    }
    expect(seen).toEqual(bodies(await value('query', 'messages:all', { text: 'pear', channel: 'pages' })));
    expect(seen[0]).toBe('pear pear');
    expect(seen).toHaveLength(5);
    // Two words: pages cross from the results holding both to those holding one, in order.
    for (const body of ['pie crust', 'tart pie', 'pie', 'a pie with pear']) await send(body, 'pages');
    const both: string[] = [];
    cursor = null;
    for (;;) {
      const result: { page: Message[]; isDone: boolean; continueCursor: string } = await value(
        'query',
        'messages:page',
        { text: 'pear pie', channel: 'pages', paginationOpts: { cursor, numItems: 1 } },
      );
      both.push(...bodies(result.page));
      if (result.isDone) break;
      cursor = result.continueCursor;
    }
    const whole = bodies(await value('query', 'messages:all', { text: 'pear pie', channel: 'pages' }));
    expect(both).toEqual(whole);
    expect(whole.slice(0, 2).sort()).toEqual(['a pie with pear', 'pear pie']);
    expect(whole).toHaveLength(9);
    for (const bad of [Buffer.from('["a",1,"x"]').toString('base64url'), Buffer.from('[1,2]').toString('base64url')]) {
      expect(
        await call('query', 'messages:page', {
          text: 'pear',
          channel: 'pages',
          paginationOpts: { cursor: bad, numItems: 2 },
        }),
      ).toMatchObject({ status: 400, body: { code: 'invalid_cursor' } });
    }
  });
});

describe('a search index added to and removed from a table with documents', async () => {
  const { app, value, call, engine, logs } = await engineFor('search-app');
  afterAll(() => engine.close());
  const schemaFile = join(app, 'valet', 'schema.ts');
  const original = readFileSync(schemaFile, 'utf8');
  const reload = async (schema: string) => {
    writeFileSync(schemaFile, schema);
    runCodegen(app);
    await engine.replaceModules(await buildAndLoad(app));
  };
  const withoutIndex = original.replace(
    ".searchIndex('search_body', { searchField: 'body', filterFields: ['channel', 'author'] })",
    '',
  );

  it('builds it from the stored documents, and drops it', async () => {
    await reload(withoutIndex);
    expect(engine.searchIndexesBuilt).toEqual([]);
    const messages = Array.from({ length: 1200 }, (_, i) => ({
      body: `${i % 2 === 0 ? 'even' : 'odd'} message number${i}`,
      channel: 'backfill',
    }));
    await value('mutation', 'messages:sendMany', { messages });
    expect((await call('query', 'messages:search', { text: 'even' })).body).toMatchObject({
      code: 'invalid_query',
      message: 'table "messages" has no search index "search_body" (search indexes: none)',
    });
    await reload(original);
    expect(engine.searchIndexesBuilt).toEqual([{ index: 'messages.search_body', documents: 1200 }]);
    expect(logs.join('\n')).toMatch(/built search index messages\.search_body over 1,200 documents/);
    expect(await value('query', 'messages:search', { text: 'even', limit: 1024 })).toHaveLength(600);
    expect(bodies(await value('query', 'messages:search', { text: 'odd number1199' }))[0]).toBe(
      'odd message number1199',
    );
    // Writes after the build are in it too.
    await value('mutation', 'messages:send', { body: 'even later', channel: 'backfill' });
    expect(bodies(await value('query', 'messages:search', { text: 'even later' }))[0]).toBe('even later');

    await reload(withoutIndex);
    const recorded = async () =>
      (
        await engine.connections.autoCommit.sql.all<{ key: string }>(
          "SELECT key FROM _valet_meta WHERE key LIKE 'search:%' ORDER BY key",
        )
      ).map((row) => row.key);
    const others = ['search:valet_search__articles__search_title', 'search:valet_search__notes__search_text'];
    expect(await recorded()).toEqual(others);
    // Writes go on without it; adding it back builds it again, with them.
    await value('mutation', 'messages:send', { body: 'even while gone', channel: 'backfill' });
    // A storage fault in the middle of a build: the reload is refused, nothing half-built stays,
    // and the next reload builds it whole.
    engine.connections.faults.failNext('INSERT INTO "valet_search__messages__search_body"', { skip: 3 });
    await expect(reload(original)).rejects.toThrow(/database is unavailable/);
    expect(await recorded()).toEqual(others);
    expect((await call('query', 'messages:search', { text: 'even' })).body).toMatchObject({ code: 'invalid_query' });
    await reload(original);
    expect(engine.searchIndexesBuilt).toEqual([{ index: 'messages.search_body', documents: 1202 }]);
    expect(await value('query', 'messages:search', { text: 'even', limit: 1024 })).toHaveLength(602);
  });
});

describe('a search on another instance (PostgreSQL)', () => {
  it("is told of writes with the search index's filter fields, so its read set can match them", () => {
    const schema = defineSchema({
      messages: defineTable({ body: v.string(), channel: v.string(), note: v.string() }).searchIndex('search_body', {
        searchField: 'body',
        filterFields: ['channel'],
      }),
    });
    const notice = JSON.parse(
      encodeNotice(
        'writer',
        [
          {
            table: 'messages',
            id: 'm1',
            before: null,
            after: { _id: 'm1', _creationTime: 1, body: 'hello', channel: 'ops', note: 'not needed' },
          },
        ],
        schema,
      ),
    );
    expect(notice.c[0][3]).toEqual({ _creationTime: 1, channel: 'ops' });
  });
});
