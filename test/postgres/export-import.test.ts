// valet export / valet import through the built CLI, both directions: SQLite → PostgreSQL →
// SQLite, with every kind of value, and the system tables; refusals name the offending line and
// write nothing.
import { readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildAndLoad } from '../../src/bundler/evaluate.js';
import { runCodegen } from '../../src/codegen/index.js';
import { createEngine } from '../../src/runtime/engine.js';
import { fixtureApp, removeTempDirs, tempDir, valetAsync } from '../helpers/apps.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { freePort, killAll, spawnValet } from '../helpers/processes.js';

afterAll(() => {
  killAll();
  removeTempDirs();
});

const BYTES = Uint8Array.from({ length: 256 }, (_, i) => i).buffer;
const ANY = {
  nested: [1, 'two', true, false, null, { deep: [[]] }],
  empty: {},
  quote: '"\'\\\n\t',
  'a.b': 1,
  $odd: 2,
  big: 1e300,
  tiny: 5e-324,
  neg: -0.5,
};

function lines(file: string): { documents: unknown[]; system: unknown[] } {
  const parsed = readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
  return { documents: parsed.filter((l) => 'table' in l), system: parsed.filter((l) => 'system' in l) };
}

describe('export and import', async () => {
  const app = fixtureApp('engine-app', []);
  runCodegen(app);
  const modules = await buildAndLoad(app);
  const work = tempDir();
  const source = join(work, 'source.db');
  const target = await createTestDatabase();
  afterAll(() => target.drop());

  // The source: a SQLite database with every kind of value, an invocation and an email.
  const engine = await createEngine({ modules, database: source, env: {}, log: () => undefined });
  const ids = await engine.runInMutation('seed', { type: 'system', source: 'admin' }, async (ctx) => {
    const users = [
      await ctx.db.insert('users', { email: 'ünïcødé 🎉 "quoted"', name: '', age: 0.1 + 0.2 }),
      await ctx.db.insert('users', { email: 'huge', age: -1e300 }),
      await ctx.db.insert('users', { email: 'max-safe', age: 9007199254740991 }),
      await ctx.db.insert('users', { email: 'no optional fields' }),
    ];
    const file = await ctx.db.insert('files', { name: 'all bytes', content: BYTES });
    const tick = await ctx.db.insert('ticks', { job: 'any', invoker: ANY });
    await ctx.email.enqueue({ to: 'a@example.com', subject: 'kept', text: 'in the outbox', deliveryKey: 'export-1' });
    return { users, file, tick };
  });
  await engine.call({
    kind: 'action',
    path: 'actions:countRun',
    args: { label: 'exported' },
    invoker: { type: 'anonymous' },
    external: true,
    idempotencyKey: 'key-1',
  });
  await engine.close();

  const cli = async (args: string[]) => {
    const result = await valetAsync(args, app);
    if (result.code !== 0) throw new Error(`valet ${args.join(' ')} → ${result.code}\n${result.stderr}`);
    return result;
  };

  it('round-trips SQLite → PostgreSQL → SQLite losslessly, system tables included', async () => {
    const first = join(work, 'first.jsonl');
    await cli(['export', '--include-system', '--out', first, '--database', source]);
    const imported = await cli(['import', first, '--database', target.url]);
    expect(imported.stderr).toMatch(/imported 7 documents \(files 1, runs 1, ticks 1, users 4\) and \d+ system rows/);

    const second = join(work, 'second.jsonl.gz');
    await cli(['export', '--include-system', '--out', second, '--database', target.url]);
    const back = join(work, 'back.db');
    await cli(['import', second, '--database', back]);
    const third = join(work, 'third.jsonl');
    await cli(['export', '--include-system', '--out', third, '--database', back]);

    const a = lines(first);
    const c = lines(third);
    expect(c.documents).toEqual(a.documents);
    expect(c.system).toEqual(a.system);
    expect(a.system.map((row) => (row as { system: string }).system)).toEqual(
      expect.arrayContaining(['_valet_action_invocations', '_valet_outbox', '_valet_meta']),
    );

    // And the engine reads them back as they were written, on PostgreSQL and on SQLite.
    for (const database of [target.url, back]) {
      const reader = await createEngine({ modules, database, env: {}, log: () => undefined });
      const store = reader.connections.autoCommit;
      expect(new Uint8Array((await store.get(ids.file))!.content as ArrayBuffer)).toEqual(new Uint8Array(BYTES));
      expect((await store.get(ids.tick))!.invoker).toEqual(ANY);
      expect(await store.get(ids.users[0]!)).toMatchObject({ email: 'ünïcødé 🎉 "quoted"', name: '', age: 0.1 + 0.2 });
      // The idempotency record came along: the same key replays instead of running again.
      const replay = await reader.call({
        kind: 'action',
        path: 'actions:countRun',
        args: { label: 'exported' },
        invoker: { type: 'anonymous' },
        external: true,
        idempotencyKey: 'key-1',
      });
      expect(replay.headers['idempotent-replayed']).toBe('true');
      await reader.close();
    }
  });

  it('refuses a document that does not match the schema, naming its line, and writes nothing', async () => {
    const bad = join(work, 'bad.jsonl');
    writeFileSync(
      bad,
      [
        JSON.stringify({
          format: 'valet-export',
          version: 1,
          exportedAt: new Date().toISOString(),
          source: 'sqlite',
          systemTables: false,
        }),
        JSON.stringify({ table: 'users', _id: 'u1', _creationTime: 1, doc: { email: 'fine@example.com' } }),
        JSON.stringify({ table: 'users', _id: 'u2', _creationTime: 2, doc: { email: 42 } }),
        JSON.stringify({ end: true, documents: 2, systemRows: 0 }),
      ].join('\n'),
    );
    const empty = join(work, 'empty.db');
    const refused = await valetAsync(['import', bad, '--database', empty], app);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`${bad}:3: users u2: does not match the schema: document.email`);
    expect(refused.stderr).not.toMatch(/\n\s+at /);
    const listed = await valetAsync(['data', '--json', '--database', empty], app);
    expect(JSON.parse(listed.stdout)).toEqual([]);
  });

  it('refuses to import over existing documents unless told to replace or append', async () => {
    const first = join(work, 'first.jsonl');
    const refused = await valetAsync(['import', first, '--database', target.url], app);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('the database already holds documents: import with --replace');
    await cli(['import', first, '--replace', '--database', target.url]);
    const duplicate = await valetAsync(['import', first, '--append', '--database', target.url], app);
    expect(duplicate.stderr).toMatch(/first\.jsonl:2: a document with _id "[\w-]+" is already in the database/);
  });

  it('recognises a file cut short', async () => {
    const first = readFileSync(join(work, 'first.jsonl'), 'utf8').trim().split('\n');
    const cut = join(work, 'cut.jsonl');
    writeFileSync(cut, first.slice(0, -1).join('\n'));
    const refused = await valetAsync(['import', cut, '--database', join(work, 'cut.db')], app);
    expect(refused.stderr).toContain('ends before its closing line');
  });
});

describe('import of a hostile or huge archive', async () => {
  const app = fixtureApp('engine-app', []);
  runCodegen(app);
  const work = tempDir();
  const target = await createTestDatabase();
  afterAll(() => target.drop());
  const header = JSON.stringify({
    format: 'valet-export',
    version: 1,
    exportedAt: new Date().toISOString(),
    source: 'sqlite',
    systemTables: true,
  });
  const archive = (name: string, body: string[]) => {
    const file = join(work, name);
    writeFileSync(file, [header, ...body, JSON.stringify({ end: true, documents: 0, systemRows: 0 })].join('\n'));
    return file;
  };
  const user = (id: string, email = `${id}@example.com`) =>
    JSON.stringify({ table: 'users', _id: id, _creationTime: 1, doc: { email } });
  const databases = () => [join(work, `${Math.random().toString(36).slice(2)}.db`), target.url];

  it.each([
    [
      'an unknown column',
      JSON.stringify({ system: '_valet_meta', row: { key: 'k', value: 'v', bogus: 1 } }),
      '_valet_meta has no column "bogus"',
    ],
    [
      'a missing required column',
      JSON.stringify({ system: '_valet_meta', row: { value: 'v' } }),
      '_valet_meta needs a value for key',
    ],
    [
      'U+0000 in a system value',
      JSON.stringify({ system: '_valet_meta', row: { key: 'k\u0000', value: 'v' } }),
      '_valet_meta.key holds the character U+0000',
    ],
    [
      'U+0000 in a document _id',
      JSON.stringify({ table: 'users', _id: 'u\u0000', _creationTime: 1, doc: { email: 'x' } }),
      'the _id holds the character U+0000',
    ],
    [
      'a lone surrogate in a field',
      JSON.stringify({ table: 'users', _id: 'u9', _creationTime: 1, doc: { email: 'x\ud800' } }),
      'doc.email holds a lone UTF-16 surrogate',
    ],
    [
      'an unknown system table',
      JSON.stringify({ system: '_valet_nope', row: {} }),
      'unknown system table "_valet_nope"',
    ],
  ])('names the line of %s on both backends, with no stack, and writes nothing', async (_name, bad, message) => {
    const file = archive(`bad-${Math.random().toString(36).slice(2)}.jsonl`, [user('u1'), bad]);
    for (const database of databases()) {
      const refused = await valetAsync(['import', file, '--replace', '--database', database], app);
      expect(refused.code, database).toBe(1);
      expect(refused.stderr).toContain(`${file}:3: ${message}`);
      expect(refused.stderr).not.toMatch(/\n\s+at |internal error/);
    }
  });

  it('names both lines of an _id that appears twice, batches apart', async () => {
    const ids = Array.from({ length: 450 }, (_, i) => `u${i}`);
    const file = archive('twice.jsonl', [...ids.map((id) => user(id)), user('u7', 'again@example.com')]);
    for (const database of databases()) {
      const refused = await valetAsync(['import', file, '--replace', '--database', database], app);
      expect(refused.stderr, database).toContain(`${file}:452: _id "u7" appears twice (first on line 9)`);
    }
  });

  it('refuses a gzip that expands to one huge line, naming it, without running out of memory', async () => {
    const file = join(work, 'bomb.jsonl.gz');
    const line = `{"table":"users","_id":"u1","_creationTime":1,"doc":{"email":"${'a'.repeat(70 * 1024 * 1024)}"}}`;
    writeFileSync(file, gzipSync(`${header}\n${line}\n`));
    const refused = await valetAsync(['import', file, '--database', join(work, 'bomb.db')], app, {
      NODE_OPTIONS: '--max-old-space-size=128',
    });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`${file}:2: the line is longer than 64 MiB`);
    expect(refused.stderr).not.toMatch(/\n\s+at /);
  });

  it('imports far more documents than its memory could hold at once (documents are written as they are read)', async () => {
    // 300 000 documents of ~1 KB: ~300 MB of archive, in a process with a 96 MB heap.
    const file = join(work, 'large.jsonl.gz');
    const filler = 'x'.repeat(1000);
    const lines = [header];
    for (let i = 0; i < 300_000; i++)
      lines.push(
        JSON.stringify({
          table: 'users',
          _id: `large-${i}`,
          _creationTime: i,
          doc: { email: `${i}@example.com`, name: filler },
        }),
      );
    lines.push(JSON.stringify({ end: true, documents: 300_000, systemRows: 0 }));
    writeFileSync(file, gzipSync(lines.join('\n')));
    lines.length = 0;
    const imported = await valetAsync(['import', file, '--database', join(work, 'large.db')], app, {
      NODE_OPTIONS: '--max-old-space-size=96',
    });
    expect(imported.stderr).toContain('imported 300000 documents (users 300000)');
    expect(imported.code).toBe(0);
  });

  it("streams the admin API's export of a table larger than the server's memory", async () => {
    // The 300 MB table imported above, served by a process with a 96 MB heap: a body built in one
    // string would not fit. Each line is checked as it arrives.
    const port = await freePort();
    const server = spawnValet(['start', '--port', String(port), '--database', join(work, 'large.db')], app, {
      NODE_OPTIONS: '--max-old-space-size=96',
    });
    await server.waitFor(/Valet serving/, 60_000);
    const admin = { 'x-valet-admin-key': readFileSync(join(app, '.valet', 'admin-key'), 'utf8').trim() };
    const response = await fetch(`http://127.0.0.1:${port}/admin/data/users/export`, { headers: admin });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('application/x-ndjson');
    let count = 0;
    let rest = '';
    for await (const chunk of response.body!.pipeThrough(new TextDecoderStream())) {
      const parts = (rest + chunk).split('\n');
      rest = parts.pop()!;
      for (const line of parts) {
        const document = JSON.parse(line) as { _id: string; email: string };
        expect(document._id).toBe(`large-${count}`);
        expect(document.email).toBe(`${count}@example.com`);
        count++;
      }
    }
    expect(rest).toBe('');
    expect(count).toBe(300_000);
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  });
});

describe('export and import of stored files', async () => {
  const app = fixtureApp('files-app', []);
  runCodegen(app);
  const modules = await buildAndLoad(app);
  const work = tempDir();
  const source = join(work, 'source.db');
  const target = await createTestDatabase();
  afterAll(() => target.drop());
  const call = (engine: Awaited<ReturnType<typeof createEngine>>, path: string, args: unknown) =>
    engine.call({ kind: 'action', path, args, invoker: { type: 'anonymous' }, external: true });
  // Larger than one chunk line (192 KiB), so a file spans several.
  const big = 'ünïcødé '.repeat(60_000);

  const engine = await createEngine({ modules, database: source, env: {}, log: () => undefined });
  const ids: string[] = [];
  for (const [text, contentType] of [
    ['', 'text/plain'],
    ['one', undefined],
    [big, 'text/plain; charset=utf-8'],
  ] as const) {
    const response = await call(engine, 'files:storeText', { text, ...(contentType ? { contentType } : {}) });
    ids.push((response.body as { value: string }).value);
  }
  await engine.close();

  const cli = async (args: string[]) => {
    const result = await valetAsync(args, app);
    if (result.code !== 0) throw new Error(`valet ${args.join(' ')} → ${result.code}\n${result.stderr}`);
    return result;
  };
  async function filesOf(database: string) {
    const reader = await createEngine({ modules, database, env: {}, log: () => undefined });
    try {
      const texts = [];
      for (const id of ids) texts.push((await call(reader, 'files:readText', { id })).body);
      const all = await reader.call({
        kind: 'query',
        path: 'files:all',
        args: {},
        invoker: { type: 'anonymous' },
        external: true,
      });
      return { texts, all: (all.body as { value: unknown[] }).value };
    } finally {
      await reader.close();
    }
  }

  it('carries files SQLite → PostgreSQL → SQLite with --include-files, bytes and metadata exact', async () => {
    const before = await filesOf(source);
    expect(before.texts.map((t: any) => t.value?.text)).toEqual(['', 'one', big]);
    const first = join(work, 'files.jsonl.gz');
    const exported = await cli(['export', '--include-files', '--out', first, '--database', source]);
    expect(exported.stderr).toMatch(/exported 0 documents, 3 files to/);
    const imported = await cli(['import', first, '--database', target.url]);
    expect(imported.stderr).toMatch(/imported 0 documents, 3 files/);
    expect(await filesOf(target.url)).toEqual(before);

    const second = join(work, 'back.jsonl');
    await cli(['export', '--include-files', '--out', second, '--database', target.url]);
    const back = join(work, 'back.db');
    await cli(['import', second, '--database', back]);
    expect(await filesOf(back)).toEqual(before);

    // Without the flag, no files; an archive whose bytes were altered is refused at the file's line.
    const plain = join(work, 'plain.jsonl');
    await cli(['export', '--out', plain, '--database', source]);
    expect(readFileSync(plain, 'utf8')).not.toContain('"file"');
    const lines = readFileSync(second, 'utf8').split('\n');
    const chunkAt = lines.findIndex((line) => line.startsWith('{"fileChunk"'));
    lines[chunkAt] = lines[chunkAt]!.replace(/"data":"./, '"data":"A');
    const altered = join(work, 'altered.jsonl');
    writeFileSync(altered, lines.join('\n'));
    const refused = await valetAsync(['import', altered, '--database', join(work, 'altered.db')], app);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/altered\.jsonl:\d+: file \w+: its bytes are not the \d+ bytes its line describes/);
  });
});
