// Every storage fault is a 503 (507 for a full disk), never a function's 500: PostgreSQL's error
// classes raised by the real server one by one, then the refusals an operator causes on a private
// cluster — a role that may no longer log in, a pg_hba reject, every connection slot taken.
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { buildAndLoad } from '../../src/bundler/evaluate.js';
import { runCodegen } from '../../src/codegen/index.js';
import { createEngine } from '../../src/runtime/engine.js';
import { storageFaultOf } from '../../src/storage/faults.js';
import { PgExecutor } from '../../src/storage/postgres/executor.js';
import { fixtureApp, removeTempDirs } from '../helpers/apps.js';
import { startPrivateCluster } from '../helpers/private-cluster.js';

afterAll(removeTempDirs);

/** One SQLSTATE of each class (PostgreSQL's manual, Appendix A), and how Valet must read it. */
const CLASSES: [sqlstate: string, meaning: string, fault: string | null][] = [
  ['08006', 'connection failure', 'storage_unavailable'],
  ['08P01', 'protocol violation', 'storage_unavailable'],
  ['28000', 'invalid authorization specification', 'storage_unavailable'],
  ['28P01', 'invalid password', 'storage_unavailable'],
  ['3D000', 'invalid catalog name (the database is gone)', 'storage_unavailable'],
  ['25006', 'read-only transaction (a standby after failover)', 'storage_unavailable'],
  ['53000', 'insufficient resources', 'storage_unavailable'],
  ['53100', 'disk full', 'storage_full'],
  ['53200', 'out of memory', 'storage_unavailable'],
  ['53300', 'too many connections', 'storage_unavailable'],
  ['55P03', 'lock not available', 'storage_unavailable'],
  ['57014', 'query canceled (statement timeout)', 'storage_unavailable'],
  ['57P01', 'admin shutdown', 'storage_unavailable'],
  ['57P03', 'cannot connect now', 'storage_unavailable'],
  ['58030', 'I/O error', 'storage_unavailable'],
  ['F0000', 'configuration file error', 'storage_unavailable'],
  ['XX001', 'data corrupted', 'storage_unavailable'],
  // The statement's own problems stay its own.
  ['22P02', 'invalid text representation', null],
  ['23505', 'unique violation', null],
  ['42601', 'syntax error', null],
  ['54001', 'statement too complex', null],
  ['0A000', 'feature not supported', null],
  ['P0001', 'raise exception', null],
];

describe('PostgreSQL error classes', () => {
  const pool = new pg.Pool({ connectionString: inject('postgresUrl'), max: 2 });
  afterAll(() => pool.end());
  const sql = new PgExecutor(pool);

  for (const [sqlstate, meaning, fault] of CLASSES) {
    it(`${sqlstate} (${meaning}) → ${fault ?? "the statement's error"}`, async () => {
      const error = await sql
        .run(`DO $$ BEGIN RAISE EXCEPTION 'raised for the test' USING ERRCODE = '${sqlstate}'; END $$`)
        .catch((e: unknown) => e);
      expect(storageFaultOf(error)?.code ?? null).toBe(fault);
      if (!fault) expect((error as { code: string }).code).toBe(sqlstate);
    });
  }
});

describe('refusals an operator causes, on a private cluster', async () => {
  const cluster = await startPrivateCluster({ max_connections: 20, superuser_reserved_connections: 2 });
  afterAll(() => cluster.drop());
  await cluster.sql('CREATE ROLE valet_app LOGIN');
  await cluster.sql('CREATE DATABASE app OWNER valet_app');
  const app = fixtureApp('engine-app', []);
  runCodegen(app);
  const engine = await createEngine({
    modules: await buildAndLoad(app),
    database: cluster.urlFor('app', 'valet_app'),
    postgres: { max: 4 },
    env: {},
    log: () => undefined,
  });
  afterAll(() => engine.close());
  const create = (email: string) =>
    engine.call({
      kind: 'mutation',
      path: 'users:create',
      args: { email },
      invoker: { type: 'anonymous' },
      external: true,
    });
  const count = () =>
    engine.call({
      kind: 'query',
      path: 'users:byEmail',
      args: { email: 'before@example.com' },
      invoker: { type: 'anonymous' },
      external: true,
    });

  it('a role that may no longer log in (SQLSTATE 28000): 503, then served again', async () => {
    expect((await create('before@example.com')).status).toBe(200);
    await cluster.sql('ALTER ROLE valet_app NOLOGIN');
    await cluster.terminate('valet_app');
    expect(await create('refused@example.com')).toMatchObject({ status: 503, body: { code: 'storage_unavailable' } });
    await cluster.sql('ALTER ROLE valet_app LOGIN');
    await expect.poll(async () => (await create('after@example.com')).status).toBe(200);
  });

  it('a pg_hba.conf reject: 503, then served again', async () => {
    await cluster.rejectUser('valet_app');
    await cluster.terminate('valet_app');
    expect(await create('rejected@example.com')).toMatchObject({ status: 503, body: { code: 'storage_unavailable' } });
    expect(await count()).toMatchObject({ status: 503, body: { code: 'storage_unavailable' } });
    await cluster.allowAll();
    await expect.poll(async () => (await create('allowed@example.com')).status).toBe(200);
  });

  it('every connection slot taken (SQLSTATE 53300): 503, then served again', async () => {
    await cluster.terminate('valet_app');
    const hogs: pg.Client[] = [];
    try {
      // As another ordinary role, until the server refuses: the slots a runaway client would take.
      await cluster.sql('CREATE ROLE hog LOGIN');
      for (;;) {
        const client = new pg.Client({ connectionString: cluster.urlFor('postgres', 'hog') });
        const refused = await client.connect().then(
          () => null,
          (error: { code?: string }) => error,
        );
        if (refused) {
          expect(refused.code).toBe('53300');
          break;
        }
        hogs.push(client);
      }
      expect(await create('crowded@example.com')).toMatchObject({ status: 503, body: { code: 'storage_unavailable' } });
    } finally {
      await Promise.all(hogs.map((client) => client.end()));
    }
    await expect.poll(async () => (await create('uncrowded@example.com')).status).toBe(200);
  });
});
