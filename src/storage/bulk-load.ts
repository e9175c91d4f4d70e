// Documents and system rows written in bulk by `valet import`, inside the caller's transaction:
// batches of INSERTs, and two bookkeeping tables (where each id came from, the ids documents refer
// to) so duplicates and references are checked in SQL however large the archive. The checks that
// need no database (shapes, text, the schema) are the importer's; this is only what speaks SQL.
import type { SqlExecutor } from './sql.js';

/** Where each loaded id came from, and every id a document refers to. */
const LINES = '_valet_import_lines';
const REFERENCES = '_valet_import_references';
const BATCH = 200;

export interface LoadedDocument {
  table: string;
  _id: string;
  _creationTime: number;
  /** The fields as stored (wire form). */
  json: string;
  line: number;
}

export interface DocumentReference {
  id: string;
  table: string;
  line: number;
  path: string;
}

export type BulkLoadMode = 'empty' | 'replace' | 'append';

export class BulkLoad {
  private constructor(private readonly sql: SqlExecutor) {}

  /** Null when `mode` is `empty` and the database holds documents; else ready, `replace` having deleted them. */
  static async begin(sql: SqlExecutor, mode: BulkLoadMode): Promise<BulkLoad | null> {
    if (mode === 'empty' && (await sql.get('SELECT 1 AS found FROM _valet_documents LIMIT 1'))) return null;
    if (mode === 'replace') await sql.run('DELETE FROM _valet_documents');
    await sql.exec(`DROP TABLE IF EXISTS ${LINES}; DROP TABLE IF EXISTS ${REFERENCES};
      CREATE TABLE ${LINES} (id text PRIMARY KEY, line integer NOT NULL);
      CREATE TABLE ${REFERENCES} (id text NOT NULL, tbl text NOT NULL, line integer NOT NULL, path text NOT NULL)`);
    return new BulkLoad(sql);
  }

  /**
   * Inserts a batch whose ids are distinct among themselves; if one is taken already, nothing is
   * inserted and the answer says which, and on which line it was loaded (null: it was in the
   * database before).
   */
  async insertDocuments(batch: LoadedDocument[]): Promise<{ id: string; firstLine: number | null } | null> {
    if (batch.length === 0) return null;
    const taken = await this.sql.get<{ id: string }>(
      `SELECT id FROM _valet_documents WHERE id IN (${batch.map(() => '?').join(', ')}) LIMIT 1`,
      batch.map((d) => d._id),
    );
    if (taken) {
      const first = await this.sql.get<{ line: number }>(`SELECT line FROM ${LINES} WHERE id = ?`, [taken.id]);
      return { id: taken.id, firstLine: first?.line ?? null };
    }
    await this.sql.run(
      `INSERT INTO ${LINES} (id, line) VALUES ${batch.map(() => '(?, ?)').join(', ')}`,
      batch.flatMap((d) => [d._id, d.line]),
    );
    await this.sql.run(
      `INSERT INTO _valet_documents (id, tbl, creation_time, ${this.sql.dialect.documentTextColumn}) VALUES ${batch.map(() => '(?, ?, ?, ?)').join(', ')}`,
      batch.flatMap((d) => [d._id, d.table, d._creationTime, d.json]),
    );
    return null;
  }

  async insertReferences(references: DocumentReference[]): Promise<void> {
    for (let i = 0; i < references.length; i += BATCH) {
      const batch = references.slice(i, i + BATCH);
      await this.sql.run(
        `INSERT INTO ${REFERENCES} (id, tbl, line, path) VALUES ${batch.map(() => '(?, ?, ?, ?)').join(', ')}`,
        batch.flatMap((r) => [r.id, r.table, r.line, r.path]),
      );
    }
  }

  /** Empties a system table before its archived rows go in (of _valet_meta, only the rows archives carry). */
  async clearSystemTable(system: string): Promise<void> {
    await this.sql.run(
      system === '_valet_meta' ? "DELETE FROM _valet_meta WHERE key = 'args_hash_secret'" : `DELETE FROM ${system}`,
    );
  }

  /** A system row; one already there (an idempotency secret, a cron's state) is kept. */
  async insertSystemRow(system: string, columns: string[], values: unknown[]): Promise<void> {
    await this.sql.run(
      `INSERT INTO ${system} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')}) ON CONFLICT DO NOTHING`,
      values,
    );
  }

  /** The first reference (by line) to a document of another table than its validator names, then the bookkeeping goes. */
  async finish(): Promise<{ line: number; path: string; tbl: string; actual: string } | null> {
    const wrong = await this.sql.get<{ line: number; path: string; tbl: string; actual: string }>(
      `SELECT r.line AS line, r.path AS path, r.tbl AS tbl, d.tbl AS actual FROM ${REFERENCES} r JOIN _valet_documents d ON d.id = r.id WHERE d.tbl <> r.tbl ORDER BY r.line LIMIT 1`,
    );
    if (!wrong) await this.sql.exec(`DROP TABLE ${LINES}; DROP TABLE ${REFERENCES}`);
    return wrong ?? null;
  }
}
