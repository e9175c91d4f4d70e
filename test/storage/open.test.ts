import Database from 'better-sqlite3';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { StorageError } from '../../src/storage/errors.js';
import { applySchemaIndexes } from '../../src/storage/indexes.js';
import { SYSTEM_SCHEMA_VERSION } from '../../src/storage/sqlite/migrations.js';
import { openDatabase } from '../../src/storage/sqlite/open.js';
import { SqliteExecutor } from '../../src/storage/sqlite/executor.js';
import { defineSchema, defineTable, v } from '../../src/server/index.js';
import { removeTempDirs, tempDir } from '../helpers/apps.js';

afterAll(removeTempDirs);

describe('openDatabase', () => {
  it('creates the file in WAL mode with synchronous=NORMAL and the system tables at the current version', () => {
    const db = openDatabase(join(tempDir(), 'nested', 'valet.db'));
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('synchronous', { simple: true })).toBe(1);
    expect(db.pragma('user_version', { simple: true })).toBe(SYSTEM_SCHEMA_VERSION);
    const tables = (
      db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]
    ).map((t) => t.name);
    expect(tables).toEqual([
      '_valet_action_invocations',
      '_valet_auth_accounts',
      '_valet_auth_codes',
      '_valet_auth_keys',
      '_valet_auth_limits',
      '_valet_auth_oauth',
      '_valet_auth_refresh_tokens',
      '_valet_auth_sessions',
      '_valet_calls',
      '_valet_cron_runs',
      '_valet_cron_state',
      '_valet_documents',
      '_valet_file_uploads',
      '_valet_files',
      '_valet_instances',
      '_valet_meta',
      '_valet_migrations',
      '_valet_outbox',
      '_valet_outbox_attempts',
      '_valet_push_subscriptions',
      '_valet_scheduled',
      '_valet_sync_clients',
      '_valet_sync_results',
    ]);
    db.close();
  });

  it('migrates an older database forward, keeping its documents', () => {
    const file = join(tempDir(), 'old.db');
    const old = new Database(file);
    old.exec(
      'CREATE TABLE _valet_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL); CREATE TABLE _valet_documents (id TEXT PRIMARY KEY, tbl TEXT NOT NULL, creation_time REAL NOT NULL, doc TEXT NOT NULL); CREATE INDEX _valet_documents_by_table ON _valet_documents (tbl, creation_time, id);',
    );
    old.exec(
      `CREATE TABLE _valet_action_invocations (id TEXT PRIMARY KEY, function TEXT NOT NULL, principal TEXT NOT NULL, invoker TEXT NOT NULL, idempotency_key TEXT, args TEXT, args_hash TEXT NOT NULL, sensitive INTEGER NOT NULL, safe_to_retry INTEGER NOT NULL, status TEXT NOT NULL, http_status INTEGER, result TEXT, error TEXT, attempts INTEGER NOT NULL, started_at REAL NOT NULL, finished_at REAL, duration_ms REAL)`,
    );
    old.prepare("INSERT INTO _valet_documents VALUES ('d1', 'users', 1, '{\"email\":\"a@b.c\"}')").run();
    old.pragma('user_version = 1');
    old.close();
    const db = openDatabase(file);
    expect(db.pragma('user_version', { simple: true })).toBe(SYSTEM_SCHEMA_VERSION);
    expect(db.prepare('SELECT doc FROM _valet_documents').get()).toEqual({ doc: '{"email":"a@b.c"}' });
    db.close();
  });

  it('refuses a database from a newer Valet with a message', () => {
    const file = join(tempDir(), 'new.db');
    const newer = new Database(file);
    newer.pragma('user_version = 99');
    newer.close();
    expect(() => openDatabase(file)).toThrow(StorageError);
    expect(() => openDatabase(file)).toThrow(
      /written by a newer Valet \(database schema version 99; this Valet knows versions up to \d+\)/,
    );
  });

  it('names a corrupt file instead of throwing SQLite internals', () => {
    const file = join(tempDir(), 'corrupt.db');
    writeFileSync(
      file,
      'this is not a database, just some text that is long enough to look like a header....'.repeat(20),
    );
    expect(() => openDatabase(file)).toThrow(
      expect.objectContaining({
        code: 'database_corrupt',
        message: expect.stringContaining('is not a valid SQLite database'),
      }),
    );
  });

  it('names a database locked by another process', () => {
    const file = join(tempDir(), 'locked.db');
    openDatabase(file).close();
    const holder = new Database(file);
    holder.exec('PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE;');
    try {
      expect(() => openDatabase(file, { busyTimeoutMs: 50 })).toThrow(
        expect.objectContaining({
          code: 'database_locked',
          message: expect.stringContaining('is locked by another process'),
        }),
      );
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }
  });
});

describe('schema indexes', () => {
  it('are created, left alone when unchanged, recreated when changed, and dropped when removed', async () => {
    const db = new SqliteExecutor(openDatabase(join(tempDir(), 'idx.db')));
    const schema = defineSchema({
      users: defineTable({ email: v.string(), age: v.number() })
        .index('by_email', ['email'])
        .index('by_age', ['age', 'email']),
    });
    expect(await applySchemaIndexes(db, schema)).toEqual({
      created: ['valet_index__users__by_email', 'valet_index__users__by_age'],
      dropped: [],
    });
    expect(await applySchemaIndexes(db, schema)).toEqual({ created: [], dropped: [] });
    const changed = defineSchema({
      users: defineTable({ email: v.string(), age: v.number() }).index('by_email', ['email']).index('by_age', ['age']),
    });
    expect(await applySchemaIndexes(db, changed)).toEqual({
      created: ['valet_index__users__by_age'],
      dropped: ['valet_index__users__by_age'],
    });
    const smaller = defineSchema({
      users: defineTable({ email: v.string(), age: v.number() }).index('by_email', ['email']),
    });
    expect(await applySchemaIndexes(db, smaller)).toEqual({ created: [], dropped: ['valet_index__users__by_age'] });
    db.close();
  });
});
