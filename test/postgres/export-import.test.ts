// valet export / valet import through the built CLI, both directions: SQLite → PostgreSQL →
// SQLite, with every kind of value, and the system tables; refusals name the offending line and
// write nothing.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildAndLoad } from '../../src/bundler/evaluate.js';
import { runCodegen } from '../../src/codegen/index.js';
import { createEngine } from '../../src/runtime/engine.js';
import { fixtureApp, removeTempDirs, tempDir, valetAsync } from '../helpers/apps.js';
import { createTestDatabase } from '../helpers/postgres.js';

afterAll(removeTempDirs);

const BYTES = Uint8Array.from({ length: 256 }, (_, i) => i).buffer;
const ANY = { nested: [1, 'two', true, false, null, { deep: [[]] }], empty: {}, quote: '"\'\\\n\t', 'a.b': 1, $odd: 2, big: 1e300, tiny: 5e-324, neg: -0.5 };

function lines(file: string): { documents: unknown[]; system: unknown[] } {
  const parsed = readFileSync(file, 'utf8').trim().split('\n').map((line) => JSON.parse(line));
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
  await engine.call({ kind: 'action', path: 'actions:countRun', args: { label: 'exported' }, invoker: { type: 'anonymous' }, external: true, idempotencyKey: 'key-1' });
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
    expect(a.system.map((row) => (row as { system: string }).system)).toEqual(expect.arrayContaining(['_valet_action_invocations', '_valet_outbox', '_valet_meta']));

    // And the engine reads them back as they were written, on PostgreSQL and on SQLite.
    for (const database of [target.url, back]) {
      const reader = await createEngine({ modules, database, env: {}, log: () => undefined });
      const store = reader.connections.autoCommit;
      expect(new Uint8Array((await store.get(ids.file))!.content as ArrayBuffer)).toEqual(new Uint8Array(BYTES));
      expect((await store.get(ids.tick))!.invoker).toEqual(ANY);
      expect(await store.get(ids.users[0]!)).toMatchObject({ email: 'ünïcødé 🎉 "quoted"', name: '', age: 0.1 + 0.2 });
      // The idempotency record came along: the same key replays instead of running again.
      const replay = await reader.call({ kind: 'action', path: 'actions:countRun', args: { label: 'exported' }, invoker: { type: 'anonymous' }, external: true, idempotencyKey: 'key-1' });
      expect(replay.headers['idempotent-replayed']).toBe('true');
      await reader.close();
    }
  });

  it('refuses a document that does not match the schema, naming its line, and writes nothing', async () => {
    const bad = join(work, 'bad.jsonl');
    writeFileSync(
      bad,
      [
        JSON.stringify({ format: 'valet-export', version: 1, exportedAt: new Date().toISOString(), source: 'sqlite', systemTables: false }),
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
