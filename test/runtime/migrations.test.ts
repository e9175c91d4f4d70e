// Data migrations on both backends: a dry run writes nothing, a run goes through every document
// in batches and resumes where it stopped, a failing document stops it with its batch rolled
// back, one runner at a time (a live lease refuses, a lapsed one is taken over, a runner whose
// token moved cannot commit), the app writing meanwhile loses nothing, and the three recipes —
// backfill, widen, rename — end in a strict schema that was refused before them.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildAndLoad } from '../../src/bundler/evaluate.js';
import { runCodegen } from '../../src/codegen/index.js';
import { listMigrations } from '../../src/runtime/migrations/store.js';
import { SchemaMismatchError } from '../../src/runtime/schema-check.js';
import { removeTempDirs } from '../helpers/apps.js';
import { engineFor } from '../helpers/engine.js';

afterAll(removeTempDirs);

async function migrationsApp(todos: number) {
  const app = await engineFor('migrations-app');
  for (let from = 0; from < todos; from += 500)
    await app.value(
      'mutation',
      'todos:seed',
      { from, count: Math.min(500, todos - from) },
      { invoker: { type: 'system', source: 'admin' }, external: false },
    );
  const docs = async () => (await app.value('query', 'todos:all')) as Record<string, any>[];
  const state = async (name: string) => {
    const defined = new Map([...app.engine.registry.migrations].map(([n, m]) => [n, { table: m.table }]));
    return (await listMigrations(app.engine.connections.autoCommit.sql, defined)).find((m) => m.name === name)!;
  };
  return { ...app, docs, state };
}

describe('a migration run', async () => {
  const { engine, docs, state } = await migrationsApp(30);

  it('dry runs without writing, naming what would change', async () => {
    const outcome = await engine.migrations.run('migrations:backfillPriority', { dryRun: true });
    expect(outcome).toMatchObject({ status: 'dry_run', processed: 30, changed: 30 });
    expect(outcome.samples).toHaveLength(5);
    expect(outcome.samples![0]!.patch).toEqual({ priority: 'normal' });
    expect((await docs()).filter((d) => d.priority !== undefined)).toEqual([]);
    expect((await state('migrations:backfillPriority')).status).toBe('pending');
  });

  it('goes through every document in batches, with progress, then is done', async () => {
    const progress: number[] = [];
    const outcome = await engine.migrations.run('migrations:tagsToArray', {
      onProgress: (p) => progress.push(p.processed),
    });
    expect(outcome).toMatchObject({ status: 'done', processed: 30, changed: 30 });
    expect(progress).toEqual([30]);
    expect((await docs()).every((d) => Array.isArray(d.tags))).toBe(true);
    expect(await state('migrations:tagsToArray')).toMatchObject({
      status: 'done',
      processed: 30,
      changed: 30,
      runner: null,
    });
    expect(await engine.migrations.run('migrations:tagsToArray')).toMatchObject({ status: 'already_done' });
    // --restart goes through them again: nothing left to change.
    expect(await engine.migrations.run('migrations:tagsToArray', { restart: true })).toMatchObject({
      status: 'done',
      changed: 0,
    });
  });

  it('stops at a failing document with its batch rolled back, and resumes from there once fixed', async () => {
    await expect(engine.migrations.run('migrations:breaksOnSeven')).rejects.toMatchObject({
      code: 'migration_failed',
      message: expect.stringContaining('cannot migrate todo 7'),
    });
    const byText = new Map((await docs()).map((d) => [d.text, d]));
    // Batches of five: 0–4 committed, 5–9 (holding todo 7) rolled back.
    expect([0, 4].map((i) => byText.get(`todo ${i}`)!.n)).toEqual([0, 0]);
    expect([5, 7, 9].map((i) => byText.get(`todo ${i}`)!.n)).toEqual([undefined, undefined, undefined]);
    expect(await state('migrations:breaksOnSeven')).toMatchObject({
      status: 'failed',
      processed: 5,
      error: expect.stringContaining('todo 7'),
    });
    await engine.runInMutation('fix', { type: 'system', source: 'admin' }, (ctx) =>
      ctx.db.insert('todos', { text: 'fixed', tags: [] }),
    );
    expect(await engine.migrations.run('migrations:breaksOnSeven')).toMatchObject({ status: 'done', processed: 26 });
    expect((await docs()).every((d) => d.n === 0)).toBe(true);
  });

  it('refuses while another runner holds a live lease, and takes a lapsed one over', async () => {
    const sql = engine.connections.autoCommit.sql;
    const now = engine.now();
    await engine.connections.inWriteTransaction((store) =>
      store.sql.run(
        "INSERT INTO _valet_migrations (name, table_name, status, processed, changed, started_at, updated_at, runner, lease_until, token) VALUES ('migrations:backfillPriority', 'todos', 'running', 0, 0, ?, ?, 'elsewhere', ?, 3)",
        [now, now, now + 60_000],
      ),
    );
    await expect(engine.migrations.run('migrations:backfillPriority')).rejects.toMatchObject({
      code: 'migration_busy',
      message: expect.stringContaining('elsewhere'),
    });
    await engine.connections.inWriteTransaction((store) =>
      store.sql.run("UPDATE _valet_migrations SET lease_until = ? WHERE name = 'migrations:backfillPriority'", [
        now - 1,
      ]),
    );
    expect(await engine.migrations.run('migrations:backfillPriority')).toMatchObject({ status: 'done', changed: 31 });
    expect(
      Number(
        (await sql.get<{ token: number }>(
          "SELECT token FROM _valet_migrations WHERE name = 'migrations:backfillPriority'",
        ))!.token,
      ),
    ).toBe(4);
  });
});

describe('fencing and concurrent writes', async () => {
  it('a runner whose claim was taken over cannot commit its next batch', async () => {
    const { engine, docs } = await migrationsApp(1200);
    await expect(
      engine.migrations.run('migrations:countVisits', {
        // After the first batch, another runner "takes over" (its claim moves the token on).
        onProgress: () =>
          void engine.connections.inWriteTransaction((store) =>
            store.sql.run("UPDATE _valet_migrations SET token = token + 1 WHERE name = 'migrations:countVisits'"),
          ),
      }),
    ).rejects.toMatchObject({ code: 'migration_busy', message: expect.stringContaining('taken over') });
    const counts = (await docs()).map((d) => d.n ?? 0);
    expect(counts.filter((n) => n === 1)).toHaveLength(500);
    expect(counts.filter((n) => n > 1)).toEqual([]);
  });

  it('every document is visited once while the app keeps writing', async () => {
    const { engine, docs, value } = await migrationsApp(2000);
    const before = new Set((await docs()).map((d) => d._id));
    let writing = true;
    const writer = (async () => {
      let i = 0;
      while (writing) await value('mutation', 'todos:add', { text: `live ${i++}` });
      return i;
    })();
    const outcome = await engine.migrations.run('migrations:countVisits');
    writing = false;
    const written = await writer;
    expect(outcome.status).toBe('done');
    const all = await docs();
    expect(all).toHaveLength(2000 + written);
    for (const doc of all) {
      if (before.has(doc._id)) expect(doc.n).toBe(1);
      else expect([undefined, 1]).toContain(doc.n);
    }
  });
});

describe('the recipes end in a strict schema', () => {
  it('is refused before backfill, widen and rename, and applied after them', async () => {
    const { engine, app, docs } = await migrationsApp(40);
    const schemaFile = join(app, 'valet', 'schema.ts');
    const loose = readFileSync(schemaFile, 'utf8');
    writeFileSync(
      schemaFile,
      loose
        .replace('text: v.optional(v.string()),\n', '')
        .replace('title: v.optional(v.string())', 'title: v.string()')
        .replace('priority: v.optional(v.string())', 'priority: v.string()')
        .replace('tags: v.union(v.string(), v.array(v.string()))', 'tags: v.array(v.string())'),
    );
    runCodegen(app);
    const strict = await buildAndLoad(app);
    const refusal = await engine.replaceModules(strict).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(SchemaMismatchError);
    expect((refusal as Error).message).toContain('valet migrate');
    for (const name of ['migrations:backfillPriority', 'migrations:tagsToArray', 'migrations:renameTextToTitle'])
      expect((await engine.migrations.run(name)).status).toBe('done');
    await engine.replaceModules(strict);
    const migrated = await docs();
    expect(migrated).toHaveLength(40);
    for (const doc of migrated) {
      expect(doc.text).toBeUndefined();
      expect(doc.title).toMatch(/^todo \d+$/);
      expect(doc.priority).toBe('normal');
      expect(doc.tags).toEqual([expect.stringMatching(/^(odd|even)$/)]);
    }
  });
});
