// Before a schema takes effect (at start, or on a dev reload), every stored document must match
// it: otherwise the change is refused, naming tables, counts and example documents.
import { listTables, storedRows } from '../storage/browse.js';
import { UserError } from '../errors/user-error.js';
import type { AnyTableDefinition, SchemaDefinition } from '../server/schema.js';
import { tableDefinition } from '../server/schema.js';
import type { AnyValidator } from '../server/values.js';
import { formatValidationError, validateFields } from '../server/values.js';
import type { DocumentStore } from '../storage/documents.js';
import { parseStoredFields } from '../storage/documents.js';

export class SchemaMismatchError extends UserError {
  constructor(readonly problems: string[]) {
    super(
      `the schema does not match the stored data, so it was not applied:\n${problems.map((p) => `  ${p}`).join('\n')}\nTo change them all: accept both shapes in the schema for now (v.optional, v.union), write a migration in valet/migrations.ts (defineMigration) and run it with \`valet migrate\`, then make the schema strict (docs/migrations.md). For a few documents: edit or delete them on the dashboard's Data page (valet dashboard prints its link) or with a mutation (valet run).`,
      {
        location: { file: 'valet/schema.ts' },
      },
    );
    this.name = 'SchemaMismatchError';
  }
}

/** A structural fingerprint of a validator, so an unchanged schema skips the data scan. */
function validatorSignature(validator: AnyValidator): string {
  const children = Object.entries(validator.children ?? {}).map(
    ([k, v]) => `${k}=${validatorSignature(v as AnyValidator)}`,
  );
  return `${validator.kind}${validator.isOptional ? '?' : ''}(${validator.description})[${children.join(',')}]`;
}

export function schemaSignature(schema: SchemaDefinition<any> | null): string {
  if (!schema) return 'none';
  return (
    JSON.stringify(
      Object.entries(schema.tables).map(([table, definition]) => [
        table,
        Object.entries((definition as { fields: Record<string, AnyValidator> }).fields).map(
          ([field, v]) => `${field}:${validatorSignature(v)}`,
        ),
        // Indexes too: a reload that adds or drops one must make the database's match.
        (definition as AnyTableDefinition).indexes,
        (definition as AnyTableDefinition).searchIndexes,
      ]),
    ) + String(schema.options.schemaValidation)
  );
}

const EXAMPLES = 3;

export async function findSchemaViolations(
  store: DocumentStore,
  schema: SchemaDefinition<any> | null,
): Promise<string[]> {
  if (!schema || !schema.options.schemaValidation) return [];
  const { sql } = store;
  const problems: string[] = [];
  for (const { table, documents } of await listTables(sql)) {
    const definition = tableDefinition(schema, table) as { fields: Record<string, AnyValidator> } | undefined;
    if (!definition) {
      problems.push(
        `table ${table}: ${documents} document${documents === 1 ? '' : 's'}, but the schema has no table ${table}`,
      );
      continue;
    }
    const bad: string[] = [];
    let count = 0;
    for await (const row of storedRows(sql, table)) {
      const error = validateFields(definition.fields, parseStoredFields(row.doc), 'document');
      if (!error) continue;
      count++;
      if (bad.length < EXAMPLES) bad.push(`${row.id} (${formatValidationError(error)})`);
    }
    if (count > 0)
      problems.push(`table ${table}: ${count} document${count === 1 ? '' : 's'} do not match, e.g. ${bad.join('; ')}`);
  }
  return problems;
}
