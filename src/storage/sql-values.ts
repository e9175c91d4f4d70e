// How document values meet SQLite: json_extract yields 1/0 for booleans, NULL for null or a
// missing field, JSON text for arrays and objects. Bound values must be spelled the same way.

export type SqlValue = string | number | bigint | Buffer | null;

export function toSqlValue(value: unknown): SqlValue {
  if (value === undefined || value === null) return null;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'number' || typeof value === 'string') return value;
  return JSON.stringify(value);
}

/** `$."field"`: the JSON path of a top-level field, quoted so any field name is safe. */
export function fieldPath(field: string): string {
  return `'$.${JSON.stringify(field).replaceAll("'", "''")}'`;
}

const expressions = new Map<string, string>();

/** The SQL expression for a field, as indexes and queries must both spell it (memoised: hot path). */
export function fieldExpression(field: string): string {
  let expression = expressions.get(field);
  if (expression === undefined) {
    expression = field === '_creationTime' ? 'creation_time' : field === '_id' ? 'id' : `json_extract(doc, ${fieldPath(field)})`;
    expressions.set(field, expression);
  }
  return expression;
}

/** Identifiers come from validated schema names; quoting keeps them literal anyway. */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

export function quoteLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}
