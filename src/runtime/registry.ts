// What the engine serves, read from the loaded modules of valet/: functions by canonical path,
// the schema, and (for the background-work issue) HTTP routes and crons.
import type { CronJob } from '../server/cron.js';
import type { AnyFunctionDefinition } from '../server/functions.js';
import type { HttpRouter } from '../server/http.js';
import { isFunctionDefinition } from '../server/functions.js';
import type { MigrationDefinition } from '../server/migrations.js';
import { isMigrationDefinition } from '../server/migrations.js';
import type { SchemaDefinition } from '../server/schema.js';
import { UserError } from '../errors/user-error.js';
import { AUTH_CONFIG_MODULE } from '../server/auth-config.js';
import { isValetAuthDefinition } from '../server/auth.js';
import type { ValetAuthDefinition } from '../server/auth.js';
import { parseAuthConfig } from './auth/providers.js';
import type { ProviderSpec } from './auth/providers.js';
import { scheduleOf } from './cron/schedule.js';
import type { SourceLocation } from '../errors/user-error.js';

/** Module path (`admin/users`) → that module's exports. */
export type LoadedModules = Record<string, Record<string, unknown>>;

export interface Registry {
  functions: Map<string, AnyFunctionDefinition>;
  schema: SchemaDefinition<any> | null;
  /** From valet/crons.ts (default export of cronJobs()). */
  crons: readonly CronJob[];
  /** From valet/http.ts (default export of httpRouter()). */
  http: HttpRouter | null;
  /** Every defineMigration export (`migrations:backfillPriority`), in the order they were defined. */
  migrations: Map<string, MigrationDefinition>;
  /** From valet/auth.config.ts (null without one): the token issuers the app trusts. */
  authProviders: ProviderSpec[] | null;
  /** From valet/auth.ts's `auth` export (null without one): the app's own sign-in. */
  valetAuth: ValetAuthDefinition | null;
}

function isSchema(value: unknown): value is SchemaDefinition<any> {
  return typeof value === 'object' && value !== null && 'tables' in value && 'options' in value;
}

/** Maps a raw stack (from where a definition was made) to its valet/ source; dev and start pass their stack maps. */
export type MapStack = (stack: string) => string;

/**
 * A mapped frame in the app's own valet/ folder: `valet/crons.ts:3:5`, as a relative path —
 * never the installed package (`…/node_modules/valet/dist/server/cron.js`).
 */
export const APP_FRAME = /(?<![\w/.@-])(valet\/(?!_generated\/)[^\s():]+):(\d+)(?::(\d+))?/;

/** The first frame of a stack that lies in valet/ (after mapping), as a location. */
export function locateInApp(stack: string | undefined, mapStack: MapStack): SourceLocation | undefined {
  const match = APP_FRAME.exec(mapStack(stack ?? ''));
  return match
    ? { file: match[1]!, line: Number(match[2]), column: match[3] ? Number(match[3]) : undefined }
    : undefined;
}

/**
 * A function the engine serves whose module has no place in the generated api (codegen found no
 * export there it could read: `exports.x = …` in CommonJS, say), so `api` cannot reach it.
 */
export interface UnlistedFunction {
  path: string;
  location?: SourceLocation;
  /** The function whose body called define* (a wrapper such as publicQuery), when there is one. */
  through?: string;
}

/**
 * Served functions outside the generated api, with where and through what they were defined. A
 * module in the api reaches all its functions (`Api` takes them from the module's type, `api`
 * makes a reference for any name), so only the module is compared.
 */
export function unlistedFunctions(
  registry: Registry,
  modulesInApi: Iterable<string>,
  mapStack: MapStack,
): UnlistedFunction[] {
  const known = new Set(modulesInApi);
  const missing: UnlistedFunction[] = [];
  for (const [path, definition] of registry.functions) {
    if (known.has(path.slice(0, path.lastIndexOf(':')))) continue;
    const mapped = mapStack(definition.definedAt ?? '');
    const frame = mapped.split('\n').find((line) => APP_FRAME.test(line)) ?? '';
    const through = /^\s*at (?:async )?([\w$.]+) \(/.exec(frame)?.[1];
    missing.push({
      path,
      location: locateInApp(frame, (stack) => stack),
      through: through && !/^Object\.|<anonymous>|^Module\./.test(through) ? through : undefined,
    });
  }
  return missing.sort((a, b) => (a.path < b.path ? -1 : 1));
}

/** How a missing function reads in messages. */
export function describeUnlisted(fn: UnlistedFunction): string {
  const where = fn.location
    ? ` (defined at ${fn.location.file}${fn.location.line ? `:${fn.location.line}` : ''}${fn.through ? ` through ${fn.through}` : ''})`
    : '';
  return `served but not in the generated api: ${fn.path}${where}; codegen gives a module its place in api by its ES exports (export const, export default, export … from), and found none it could read in this one`;
}

export function buildRegistry(modules: LoadedModules, mapStack: MapStack = (stack) => stack): Registry {
  const functions = new Map<string, AnyFunctionDefinition>();
  const migrations = new Map<string, MigrationDefinition>();
  for (const [modulePath, exports] of Object.entries(modules)) {
    for (const [name, value] of Object.entries(exports)) {
      if (isFunctionDefinition(value)) functions.set(`${modulePath}:${name}`, value);
      else if (isMigrationDefinition(value)) migrations.set(`${modulePath}:${name}`, value);
    }
  }
  const schemaExport = modules.schema?.default;
  if (schemaExport !== undefined && !isSchema(schemaExport)) {
    throw new UserError('valet/schema.ts must `export default defineSchema({ ... })`', {
      location: { file: 'valet/schema.ts' },
    });
  }
  const cronExport = modules.crons?.default as { jobs?: CronJob[] } | undefined;
  if (cronExport !== undefined && !Array.isArray(cronExport?.jobs))
    throw new UserError('valet/crons.ts must `export default cronJobs()...`', { location: { file: 'valet/crons.ts' } });
  const crons: CronJob[] = [];
  for (const job of cronExport?.jobs ?? []) {
    try {
      scheduleOf(job);
    } catch (error) {
      const location = locateInApp(job.definedAt, mapStack) ?? { file: 'valet/crons.ts' };
      throw new UserError(`${location.file}${location.line ? `:${location.line}` : ''}: ${(error as Error).message}`, {
        location,
      });
    }
    const target = functions.get(job.ref.path);
    if (!target || (target.kind !== 'mutation' && target.kind !== 'action')) {
      const location = locateInApp(job.definedAt, mapStack) ?? { file: 'valet/crons.ts' };
      const at = `${location.file}${location.line ? `:${location.line}` : ''}`;
      throw new UserError(
        `${at}: cron job "${job.name}" targets ${job.ref.path}, which is not a mutation or action of this app (was it renamed or removed?)`,
        { location },
      );
    }
    // The served function's kind, for a reference that came without one.
    crons.push(job.ref.kind ? job : Object.freeze({ ...job, ref: { ...job.ref, kind: target.kind } }));
  }
  const httpExport = modules.http?.default as HttpRouter | undefined;
  if (httpExport !== undefined && typeof httpExport?.lookup !== 'function')
    throw new UserError('valet/http.ts must `export default httpRouter()...`', { location: { file: 'valet/http.ts' } });
  const schema = (schemaExport as SchemaDefinition<any> | undefined) ?? null;
  const inOrder = new Map([...migrations].sort(([, a], [, b]) => a.sequence - b.sequence));
  for (const [path, migration] of inOrder) {
    if (!schema || migration.table in schema.tables) continue;
    const location = locateInApp(migration.definedAt, mapStack) ?? { file: `valet/${path.split(':')[0]}.ts` };
    throw new UserError(
      `${location.file}${location.line ? `:${location.line}` : ''}: migration ${path} is for table "${migration.table}", which valet/schema.ts does not define (tables: ${Object.keys(schema.tables).join(', ')})`,
      { location },
    );
  }
  const authProviders = parseAuthConfig(modules[AUTH_CONFIG_MODULE]?.default);
  return {
    functions,
    schema,
    crons,
    http: httpExport ?? null,
    migrations: inOrder,
    authProviders,
    valetAuth: valetAuthOf(modules, schema),
  };
}

/** valet/auth.ts's `export const auth = valetAuth({...})`, checked against the schema's users table. */
function valetAuthOf(modules: LoadedModules, schema: SchemaDefinition<any> | null): ValetAuthDefinition | null {
  const exported = modules.auth?.auth;
  // A function that happens to be called `auth` in valet/auth.ts is just a function.
  if (exported === undefined || isFunctionDefinition(exported)) return null;
  const location = { file: 'valet/auth.ts' };
  if (!isValetAuthDefinition(exported))
    throw new UserError(
      'valet/auth.ts: `auth` must be `valetAuth({ providers: [Password(), Email()] })` from valet/auth',
      { location },
    );
  if (schema && !('users' in schema.tables))
    throw new UserError(
      'valet/auth.ts signs people in as documents of a `users` table, and valet/schema.ts has none: add `users: defineTable({ email: v.optional(v.string()), name: v.optional(v.string()) }).index("by_email", ["email"])`',
      { location },
    );
  return exported;
}
