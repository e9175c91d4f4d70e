// bench/search (issue 28): full-text search on a corpus of 100 000 messages (BENCH_MESSAGES to
// change it) drawn from a 500-word vocabulary with a Zipf distribution, on SQLite and PostgreSQL
// (BENCH_BACKENDS=sqlite or postgres for one), through the engine's call path (what a query
// handler costs a caller, HTTP aside).
//
// 1. A two-word search with one filter (`q.search('body', 'w1 w2').eq('channel', c)`, take 20),
//    the last word cut to a prefix as if still being typed; the words drawn as the text has them
//    (Zipf: the commonest most) and, separately, alike from the vocabulary. Any of the words
//    matches (as in Convex), so the raw baselines ask for either word too. Baseline, interleaved query by query (A B A B …): the engine's own
//    raw statement on a plain table of the same corpus — SQLite FTS5 MATCH with bm25 order, or
//    PostgreSQL tsvector @@ to_tsquery with ts_rank order — through the same driver.
//    Goals: p50 ≤ 5 ms on SQLite, ≤ 10 ms on PostgreSQL.
// 2. Insert overhead: one message per mutation into a search-indexed table against the same
//    insert into a table without one, interleaved. Goal: ≤ +50 %. The raw driver's insert into a
//    plain table with and without its full-text index is printed beside it for reference.
import { rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { createBenchApp, ROOT } from './_apps.js';
import { machine } from './_measure.js';
import { benchDatabase } from './_postgres.js';

const dist = (path) => import(join(ROOT, 'dist', path));
const { buildAndLoad } = await dist('bundler/evaluate.js');
const { runCodegen } = await dist('codegen/index.js');
const { createEngine } = await dist('runtime/engine.js');
const Database = (await import('better-sqlite3')).default;
const pg = (await import('pg')).default;

const WORK = join(ROOT, 'bench', '.work', 'search');
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 100_000);
const SEARCHES = Number(process.env.BENCH_SEARCHES ?? 600);
const INSERTS = Number(process.env.BENCH_INSERTS ?? 1_000);
const BACKENDS = (process.env.BENCH_BACKENDS ?? 'sqlite,postgres').split(',');
const VOCABULARY = 500;
const CHANNELS = 20;
const GOALS = { sqlite: 5, postgres: 10 };
const INSERT_GOAL = 1.5;

const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
};
const stats = (values) => ({
  p50: percentile(values, 0.5),
  p95: percentile(values, 0.95),
  p25: percentile(values, 0.25),
  p75: percentile(values, 0.75),
});
const ms = (x) => `${x.toFixed(2)} ms`;
const row = (label, s) =>
  `  ${label.padEnd(44)} p50 ${ms(s.p50).padStart(9)}   p95 ${ms(s.p95).padStart(9)}   IQR ${s.p25.toFixed(2)}–${s.p75.toFixed(2)} ms`;
const verdict = (ok) => (ok ? 'met' : 'MISSED');

/** A small seeded generator (mulberry32): the same corpus and searches every run. */
function random(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Words that look like words (consonant-vowel syllables), ranked; rank r has weight 1 / r.
const next = random(28);
const SYLLABLES = ['ka', 'lo', 'mi', 'ne', 'ru', 'sa', 'ti', 'vo', 'pe', 'da', 'fu', 'gi', 'ho', 'ze', 'bra', 'tor'];
const vocabulary = [];
while (vocabulary.length < VOCABULARY) {
  const length = 1 + Math.floor(next() * 3);
  const word = Array.from({ length }, () => SYLLABLES[Math.floor(next() * SYLLABLES.length)]).join('');
  if (!vocabulary.includes(word)) vocabulary.push(word);
}
const cumulative = [];
let total = 0;
for (let r = 1; r <= VOCABULARY; r++) cumulative.push((total += 1 / r));
function zipfWord() {
  const x = next() * total;
  let low = 0;
  let high = VOCABULARY - 1;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (cumulative[mid] < x) low = mid + 1;
    else high = mid;
  }
  return vocabulary[low];
}
const message = () => ({
  body: Array.from({ length: 5 + Math.floor(next() * 21) }, zipfWord).join(' '),
  channel: `c${Math.floor(next() * CHANNELS)}`,
});
const corpus = Array.from({ length: MESSAGES }, message);
/** Two-word searches, the last word cut to a prefix as if still being typed (at least 2 letters). */
const searchesOf = (pick) =>
  Array.from({ length: SEARCHES }, () => {
    const last = pick();
    return {
      first: pick(),
      last: last.slice(0, Math.max(2, Math.min(last.length, 2 + Math.floor(next() * last.length)))),
      channel: `c${Math.floor(next() * CHANNELS)}`,
    };
  });
// Two ways people pick words: as often as the text holds them (the commonest words most, as if
// users searched for "the"), or any word of the vocabulary alike (content words). Both are shown.
const SEARCH_SETS = [
  ['words drawn as the text has them (Zipf)', searchesOf(zipfWord)],
  ['words drawn alike from the vocabulary', searchesOf(() => vocabulary[Math.floor(next() * VOCABULARY)])],
];

rmSync(WORK, { recursive: true, force: true });
createBenchApp(WORK, 'bench-search', {
  'schema.ts': `import { defineSchema, defineTable, v } from './_generated/valet/api';
export default defineSchema({
  messages: defineTable({ body: v.string(), channel: v.string() })
    .searchIndex('search_body', { searchField: 'body', filterFields: ['channel'] }),
  plain: defineTable({ body: v.string(), channel: v.string() }),
});
`,
  'messages.ts': `import { defineMutation, defineQuery, v } from './_generated/valet/api';
export const search = defineQuery({
  args: { text: v.string(), channel: v.string() },
  access: 'public',
  handler: async (ctx, args) =>
    ctx.db.query('messages').withSearchIndex('search_body', (q) => q.search('body', args.text).eq('channel', args.channel)).take(20),
});
const message = v.object({ body: v.string(), channel: v.string() });
export const load = defineMutation({
  args: { table: v.union(v.literal('messages'), v.literal('plain')), messages: v.array(message) },
  access: 'public',
  handler: async (ctx, args) => {
    for (const m of args.messages) await ctx.db.insert(args.table, m);
  },
});
export const send = defineMutation({
  args: { table: v.union(v.literal('messages'), v.literal('plain')), body: v.string(), channel: v.string() },
  access: 'public',
  handler: async (ctx, args) => ctx.db.insert(args.table, { body: args.body, channel: args.channel }),
});
`,
});
runCodegen(WORK);

const call = async (engine, kind, path, args) => {
  const response = await engine.call({ kind, path, args, invoker: { type: 'anonymous' }, external: true });
  if (response.status !== 200) throw new Error(`${path}: ${JSON.stringify(response.body)}`);
  return response.body.value;
};

/** The raw baselines: a plain table of the same corpus, with the engine's own full-text index. */
function rawSqlite() {
  const db = new Database(join(WORK, 'raw.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(`CREATE TABLE messages (id INTEGER PRIMARY KEY, body TEXT NOT NULL, channel TEXT NOT NULL);
    CREATE INDEX messages_channel ON messages (channel);
    CREATE VIRTUAL TABLE messages_fts USING fts5(body, content='messages', content_rowid='id', tokenize='unicode61 remove_diacritics 2');
    CREATE TRIGGER messages_added AFTER INSERT ON messages BEGIN INSERT INTO messages_fts (rowid, body) VALUES (new.id, new.body); END;
    CREATE TABLE plain (id INTEGER PRIMARY KEY, body TEXT NOT NULL, channel TEXT NOT NULL);`);
  const insert = db.prepare('INSERT INTO messages (body, channel) VALUES (?, ?)');
  db.transaction(() => {
    for (const m of corpus) insert.run(m.body, m.channel);
  })();
  const search = db.prepare(
    'SELECT m.id, m.body, m.channel FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid WHERE messages_fts MATCH ? AND m.channel = ? ORDER BY bm25(messages_fts) LIMIT 20',
  );
  const indexed = db.prepare('INSERT INTO messages (body, channel) VALUES (?, ?)');
  const plain = db.prepare('INSERT INTO plain (body, channel) VALUES (?, ?)');
  return {
    search: async (s) => search.all(`"${s.first}" OR "${s.last}"*`, s.channel),
    insertIndexed: async (m) => indexed.run(m.body, m.channel),
    insertPlain: async (m) => plain.run(m.body, m.channel),
    close: async () => db.close(),
  };
}

async function rawPostgres(url) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(`CREATE TABLE raw_messages (id bigserial PRIMARY KEY, body text NOT NULL, channel text NOT NULL,
      tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', body)) STORED);
    CREATE INDEX raw_messages_tsv ON raw_messages USING gin (tsv);
    CREATE TABLE raw_plain (id bigserial PRIMARY KEY, body text NOT NULL, channel text NOT NULL)`);
  for (let i = 0; i < corpus.length; i += 1000) {
    const batch = corpus.slice(i, i + 1000);
    await client.query(
      `INSERT INTO raw_messages (body, channel) VALUES ${batch.map((_, j) => `($${2 * j + 1}, $${2 * j + 2})`).join(', ')}`,
      batch.flatMap((m) => [m.body, m.channel]),
    );
  }
  await client.query('ANALYZE raw_messages');
  return {
    search: (s) =>
      client.query({
        name: 'raw_search',
        text: `SELECT id, body, channel FROM raw_messages, to_tsquery('simple', $1) q WHERE tsv @@ q AND channel = $2 ORDER BY ts_rank(tsv, q) DESC LIMIT 20`,
        values: [`${s.first} | ${s.last}:*`, s.channel],
      }),
    insertIndexed: (m) =>
      client.query({
        name: 'raw_indexed',
        text: 'INSERT INTO raw_messages (body, channel) VALUES ($1, $2)',
        values: [m.body, m.channel],
      }),
    insertPlain: (m) =>
      client.query({
        name: 'raw_plain',
        text: 'INSERT INTO raw_plain (body, channel) VALUES ($1, $2)',
        values: [m.body, m.channel],
      }),
    close: () => client.end(),
  };
}

/** Runs `a` and `b` alternately (A B A B …) over `inputs`; the time of each, in ms. */
async function interleaved(inputs, a, b) {
  const times = { a: [], b: [] };
  for (const [i, input] of inputs.entries()) {
    for (const [key, run] of i % 2 === 0
      ? [
          ['a', a],
          ['b', b],
        ]
      : [
          ['b', b],
          ['a', a],
        ]) {
      const started = performance.now();
      await run(input);
      times[key].push(performance.now() - started);
    }
  }
  return { a: stats(times.a), b: stats(times.b) };
}

console.log(`bench/search on ${machine()}, load average ${load()}`);
console.log(
  `corpus: ${MESSAGES.toLocaleString('en')} messages of 5–25 words, ${VOCABULARY} words (Zipf), ${CHANNELS} channels; ${SEARCHES} two-word searches with one filter per set\n`,
);
const summary = [];
for (const backend of BACKENDS) {
  const database = backend === 'postgres' ? await benchDatabase() : null;
  const engine = await createEngine({
    modules: await buildAndLoad(WORK),
    database: database ? database.url : join(WORK, '.valet', 'valet.db'),
    env: {},
    log: () => undefined,
  });
  const raw = database ? await rawPostgres(database.url) : rawSqlite();
  try {
    let started = performance.now();
    for (let i = 0; i < corpus.length; i += 500)
      await call(engine, 'mutation', 'messages:load', { table: 'messages', messages: corpus.slice(i, i + 500) });
    console.log(
      `${backend}: loaded the corpus through mutations in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    if (database) {
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      await client.query('ANALYZE');
      await client.end();
    }
    // Warm both (caches, prepared statements), then measure.
    for (const s of SEARCH_SETS[0][1].slice(0, 50)) {
      await call(engine, 'query', 'messages:search', { text: `${s.first} ${s.last}`, channel: s.channel });
      await raw.search(s);
    }
    const goal = GOALS[backend];
    const outcomes = [];
    for (const [label, searches] of SEARCH_SETS) {
      let found = 0;
      const search = await interleaved(
        searches,
        async (s) => {
          const text = `${s.first} ${s.last}`;
          found += (await call(engine, 'query', 'messages:search', { text, channel: s.channel })).length;
        },
        (s) => raw.search(s),
      );
      console.log(
        `  ${label}: ${(found / searches.length).toFixed(1)} results per search on average; load average ${load()}`,
      );
      console.log(row('valet search (engine call path)', search.a));
      const rawLabel = backend === 'sqlite' ? 'FTS5 MATCH + bm25' : 'tsvector @@ + ts_rank';
      console.log(row(`raw ${rawLabel} (same driver)`, search.b));
      console.log(
        `  p50 ≤ ${goal} ms: ${ms(search.a.p50)} — ${verdict(search.a.p50 <= goal)}; ratio to raw p50 ${(search.a.p50 / search.b.p50).toFixed(2)}×, p95 ${(search.a.p95 / search.b.p95).toFixed(2)}×`,
      );
      outcomes.push(
        `${label}: p50 ${ms(search.a.p50)} (${verdict(search.a.p50 <= goal)}), p95 ${ms(search.a.p95)}, raw p50 ${ms(search.b.p50)}`,
      );
    }

    started = performance.now();
    const inserts = Array.from({ length: INSERTS }, message);
    const valetInsert = await interleaved(
      inserts,
      (m) => call(engine, 'mutation', 'messages:send', { table: 'messages', ...m }),
      (m) => call(engine, 'mutation', 'messages:send', { table: 'plain', ...m }),
    );
    const rawInsert = await interleaved(inserts, raw.insertIndexed, raw.insertPlain);
    const overhead = valetInsert.a.p50 / valetInsert.b.p50;
    console.log(`  load average ${load()}`);
    console.log(row('valet insert, search-indexed table', valetInsert.a));
    console.log(row('valet insert, same table without', valetInsert.b));
    console.log(row('raw insert with full-text index', rawInsert.a));
    console.log(row('raw insert without', rawInsert.b));
    console.log(
      `  insert overhead ≤ +${((INSERT_GOAL - 1) * 100).toFixed(0)} %: +${((overhead - 1) * 100).toFixed(0)} % (raw: +${((rawInsert.a.p50 / rawInsert.b.p50 - 1) * 100).toFixed(0)} %) — ${verdict(overhead <= INSERT_GOAL)}\n`,
    );
    summary.push(
      `${backend} (search goal p50 ≤ ${goal} ms) — ${outcomes.join('; ')}; insert +${((overhead - 1) * 100).toFixed(0)} % (goal +50 %, ${verdict(overhead <= INSERT_GOAL)})`,
    );
  } finally {
    await raw.close();
    await engine.close();
    await database?.drop();
  }
}
console.log(summary.join('\n'));
