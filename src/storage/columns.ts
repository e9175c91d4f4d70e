// The columns of one of the engine's own tables, as the database declares them: what an imported
// system row is checked against before it is written.
import type { SqlExecutor } from './sql.js';

export interface ColumnInfo {
  name: string;
  /** NOT NULL without a default: a row must give it. */
  required: boolean;
}

export async function tableColumns(sql: SqlExecutor, table: string): Promise<ColumnInfo[]> {
  if (sql.dialect.name === 'postgres') {
    const rows = await sql.all<{ name: string; nullable: string; fallback: string | null }>(
      'SELECT column_name AS name, is_nullable AS nullable, column_default AS fallback FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position',
      [table],
    );
    return rows.map((row) => ({ name: row.name, required: row.nullable === 'NO' && row.fallback === null }));
  }
  const rows = await sql.all<{ name: string; type: string; notnull: number; dflt_value: unknown; pk: number }>(
    'SELECT name, type, "notnull", dflt_value, pk FROM pragma_table_info(?)',
    [table],
  );
  // SQLite lets NULL into a primary key that is not an INTEGER rowid (an old bug it keeps): required all the same.
  const keyNeedsValue = (row: { type: string; pk: number }) => row.pk > 0 && row.type.toUpperCase() !== 'INTEGER';
  return rows.map((row) => ({
    name: row.name,
    required: (row.notnull === 1 && row.dflt_value === null) || keyNeedsValue(row),
  }));
}
