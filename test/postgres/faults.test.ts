// PostgreSQL's own faults, against the real server: unreachable, refused, missing, written by a
// newer Valet; a connection killed mid-transaction (503, nothing half-applied, then recovery).
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { createEngine } from '../../src/runtime/engine.js';
import { buildAndLoad } from '../../src/bundler/evaluate.js';
import { runCodegen } from '../../src/codegen/index.js';
import { fixtureApp, removeTempDirs } from '../helpers/apps.js';
import { countDocuments, testDatabase } from '../helpers/database.js';
import { engineFor } from '../helpers/engine.js';
import { withDatabase } from '../helpers/postgres.js';

afterAll(removeTempDirs);

async function modules() {
  const app = fixtureApp('engine-app', []);
  runCodegen(app);
  return buildAndLoad(app);
}

describe('opening', async () => {
  const loaded = await modules();
  const open = (database: string) => createEngine({ modules: loaded, database, env: {}, log: () => undefined });

  it('names an unreachable server, without a stack trace', async () => {
    await expect(open('postgres://postgres@127.0.0.1:1/valet')).rejects.toMatchObject({
      code: 'database_unreachable',
      message: expect.stringMatching(
        /^cannot reach PostgreSQL at postgres:\/\/postgres@127\.0\.0\.1:1\/valet .*is the server running/,
      ),
    });
  });

  it('names a role the server refuses, and a database that does not exist', async () => {
    await expect(
      open(withDatabase(inject('postgresUrl'), 'postgres').replace('postgres@', 'nobody_here@')),
    ).rejects.toMatchObject({
      code: 'database_unreadable',
      message: expect.stringContaining('the server refused the credentials'),
    });
    await expect(open(withDatabase(inject('postgresUrl'), 'no_such_database_here'))).rejects.toMatchObject({
      message: expect.stringContaining(
        'database "no_such_database_here" does not exist; create it (createdb no_such_database_here)',
      ),
    });
  });

  it('keeps the password out of its messages', async () => {
    const error = await open('postgres://postgres:hunter2@127.0.0.1:1/valet').catch((e: Error) => e);
    expect((error as Error).message).not.toContain('hunter2');
  });

  it('refuses a database written by a newer Valet', async () => {
    const { database, postgres } = testDatabase(`newer-${Date.now()}`);
    const first = await createEngine({ modules: loaded, database, postgres, env: {}, log: () => undefined });
    await first.connections.autoCommit.sql.run("UPDATE _valet_meta SET value = '99' WHERE key = 'schema_version'");
    await first.close();
    await expect(
      createEngine({ modules: loaded, database, postgres, env: {}, log: () => undefined }),
    ).rejects.toMatchObject({
      code: 'database_too_new',
      message: expect.stringContaining('was written by a newer Valet (database schema version 99'),
    });
  });
});

describe('a connection killed mid-transaction', async () => {
  const { call, engine, stateDir, logs } = await engineFor('engine-app');
  afterAll(() => engine.close());
  const application = testDatabase(stateDir).postgres!.applicationName!;

  /** What an operator's pg_terminate_backend (or a failover) does to the engine's connections. */
  async function terminateConnections(): Promise<number> {
    const admin = new pg.Client({ connectionString: inject('postgresUrl') });
    await admin.connect();
    try {
      const result = await admin.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1',
        [application],
      );
      return result.rowCount ?? 0;
    } finally {
      await admin.end();
    }
  }

  /** The engine's connections sitting inside an open transaction (the handler is waiting). */
  async function transactionsHeld(): Promise<number> {
    const admin = new pg.Client({ connectionString: inject('postgresUrl') });
    await admin.connect();
    try {
      return (
        (
          await admin.query(
            "SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND state = 'idle in transaction'",
            [application],
          )
        ).rowCount ?? 0
      );
    } finally {
      await admin.end();
    }
  }
  const waitUntilHeld = () => expect.poll(async () => (await transactionsHeld()) > 0).toBe(true);
  /**
   * Releases the held handler. The release is an action call of its own, and right after the kill
   * it may meet a pooled connection that died too (its 503 is the engine's right answer), so it is
   * sent until it released the handler.
   */
  const releaseHeld = () =>
    expect
      .poll(async () => ((await call('action', 'faults:releaseAll')).body as { value?: number }).value ?? 0)
      .toBeGreaterThan(0);

  it('answers an action 503 storage_unavailable, applies nothing, and serves the next call', async () => {
    const pending = call('action', 'faults:waitInTransaction', { label: 'killed-tx' });
    await waitUntilHeld();
    expect(await terminateConnections()).toBeGreaterThan(0);
    await releaseHeld();
    expect(await pending).toMatchObject({ status: 503, body: { code: 'storage_unavailable' } });
    expect(logs.join('\n')).toMatch(/storage failure/);
    expect(await countDocuments(engine, 'runs', { label: 'killed-tx' })).toBe(0);
    expect((await call('mutation', 'users:create', { email: 'after-kill@example.com' })).status).toBe(200);
  });

  it('answers a mutation the same way', async () => {
    const pending = call('mutation', 'faults:waitInMutation', { label: 'killed-mutation' });
    await waitUntilHeld();
    await terminateConnections();
    await releaseHeld();
    expect(await pending).toMatchObject({ status: 503, body: { code: 'storage_unavailable' } });
    expect(await countDocuments(engine, 'runs', { label: 'killed-mutation' })).toBe(0);
    expect((await call('query', 'users:byEmail', { email: 'after-kill@example.com' })).status).toBe(200);
  });
});
