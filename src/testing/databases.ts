// A fresh database per valetTest(), cheaply. On SQLite (the default) the engine's tables are
// migrated once per process into a template file, and each harness gets a copy in a temporary
// folder. With VALET_DATABASE_URL=postgres://…, each harness gets a schema of its own in that
// database (its tables migrated there), dropped on close.
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { isPostgresUrl } from '../storage/postgres/url.js';
import type { PostgresOptions } from '../storage/postgres/open.js';
import { openDatabase } from '../storage/sqlite/open.js';

export interface TestDatabase {
  database: string;
  postgres?: PostgresOptions;
  /** Deletes it (after the engine closed). */
  remove(): Promise<void>;
}

let template: string | null = null;
const created = new Set<string>();

function templateDatabase(): string {
  if (template) return template;
  const dir = mkdtempSync(join(tmpdir(), 'valet-test-template-'));
  created.add(dir);
  const file = join(dir, 'template.db');
  openDatabase(file).close();
  template = file;
  return file;
}

function freshSqliteDatabase(): TestDatabase {
  const dir = mkdtempSync(join(tmpdir(), 'valet-test-'));
  created.add(dir);
  const file = join(dir, 'valet.db');
  copyFileSync(templateDatabase(), file);
  return {
    database: file,
    async remove() {
      rmSync(dir, { recursive: true, force: true });
      created.delete(dir);
    },
  };
}

function freshPostgresSchema(url: string): TestDatabase {
  const schema = `valet_test_${randomBytes(6).toString('hex')}`;
  return {
    database: url,
    postgres: { schema, max: 4 },
    async remove() {
      // Loaded here, not at the top: valet/testing on SQLite needs no PostgreSQL driver.
      const { default: pg } = await import('pg');
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}

/** A new, migrated database for one harness: on PostgreSQL when `url` is a postgres:// URL. */
export function freshDatabase(url = process.env.VALET_DATABASE_URL): TestDatabase {
  return url && isPostgresUrl(url) ? freshPostgresSchema(url) : freshSqliteDatabase();
}

process.once('exit', () => {
  for (const dir of created) rmSync(dir, { recursive: true, force: true });
});
