// What the engine serves, read from the loaded modules of valet/: functions by canonical path,
// the schema, and (for the background-work issue) HTTP routes and crons.
import type { AnyFunctionDefinition } from '../server/functions.js';
import { isFunctionDefinition } from '../server/functions.js';
import type { SchemaDefinition } from '../server/schema.js';

/** Module path (`admin/users`) → that module's exports. */
export type LoadedModules = Record<string, Record<string, unknown>>;

export interface Registry {
  functions: Map<string, AnyFunctionDefinition>;
  schema: SchemaDefinition<any> | null;
}

function isSchema(value: unknown): value is SchemaDefinition<any> {
  return typeof value === 'object' && value !== null && 'tables' in value && 'options' in value;
}

export function buildRegistry(modules: LoadedModules): Registry {
  const functions = new Map<string, AnyFunctionDefinition>();
  for (const [modulePath, exports] of Object.entries(modules)) {
    for (const [name, value] of Object.entries(exports)) {
      if (isFunctionDefinition(value)) functions.set(`${modulePath}:${name}`, value);
    }
  }
  const schemaExport = modules.schema?.default;
  if (schemaExport !== undefined && !isSchema(schemaExport)) {
    throw new Error('valet/schema.ts must `export default defineSchema({ ... })`');
  }
  return { functions, schema: (schemaExport as SchemaDefinition<any> | undefined) ?? null };
}
