// What the engine serves, read from the loaded modules of valet/: functions by canonical path,
// the schema, and (for the background-work issue) HTTP routes and crons.
import type { CronJob } from '../server/cron.js';
import type { AnyFunctionDefinition } from '../server/functions.js';
import type { HttpRouter } from '../server/http.js';
import { isFunctionDefinition } from '../server/functions.js';
import type { SchemaDefinition } from '../server/schema.js';

/** Module path (`admin/users`) → that module's exports. */
export type LoadedModules = Record<string, Record<string, unknown>>;

export interface Registry {
  functions: Map<string, AnyFunctionDefinition>;
  schema: SchemaDefinition<any> | null;
  /** From valet/crons.ts (default export of cronJobs()). */
  crons: readonly CronJob[];
  /** From valet/http.ts (default export of httpRouter()). */
  http: HttpRouter | null;
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
  const cronExport = modules.crons?.default as { jobs?: CronJob[] } | undefined;
  if (cronExport !== undefined && !Array.isArray(cronExport?.jobs)) throw new Error('valet/crons.ts must `export default cronJobs()...`');
  const crons = cronExport?.jobs ?? [];
  for (const job of crons) {
    const target = functions.get(job.ref.path);
    if (!target || (target.kind !== 'mutation' && target.kind !== 'action')) {
      throw new Error(`valet/crons.ts: job "${job.name}" targets ${job.ref.path}, which is not a mutation or action of this app`);
    }
  }
  const httpExport = modules.http?.default as HttpRouter | undefined;
  if (httpExport !== undefined && typeof httpExport?.lookup !== 'function') throw new Error('valet/http.ts must `export default httpRouter()...`');
  return { functions, schema: (schemaExport as SchemaDefinition<any> | undefined) ?? null, crons, http: httpExport ?? null };
}
