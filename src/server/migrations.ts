// `defineMigration`: a change to every document of one table, run in batches by `valet migrate`
// (the shape of Convex's migrations component). `migrateOne` gets a mutation's ctx and one
// document and returns the fields to patch (or nothing, having written with ctx.db itself); each
// batch is one transaction, so a document is migrated exactly once however often the run stops.
import type { MutationCtx } from './ctx.js';
import type { DocumentOf, GenericDataModel, TableNamesOf } from './schema.js';

export const DEFAULT_MIGRATION_BATCH_SIZE = 100;
export const MAX_MIGRATION_BATCH_SIZE = 10_000;

type Patch<DM extends GenericDataModel, T extends TableNamesOf<DM>> = Partial<
  Omit<DocumentOf<DM, T>, '_id' | '_creationTime'>
>;

export interface MigrationOptions<DM extends GenericDataModel, T extends TableNamesOf<DM>> {
  table: T;
  /** Documents per transaction (default 100, at most 10 000). */
  batchSize?: number;
  // NoInfer: the table is known from `table` alone, so the patch a handler returns is checked
  // against that table's fields (a literal like 'normal' keeps its literal type).
  migrateOne: NoInfer<
    (
      ctx: MutationCtx<DM>,
      doc: DocumentOf<DM, T>,
    ) => Patch<DM, T> | undefined | null | void | Promise<Patch<DM, T> | undefined | null | void>
  >;
}

export interface MigrationDefinition {
  readonly isMigration: true;
  readonly table: string;
  readonly batchSize: number;
  readonly migrateOne: (ctx: any, doc: any) => unknown;
  /** Where it was defined (a stack, mapped to valet/ when shown). */
  readonly definedAt?: string;
  /** Made in this order (a module's exports come back sorted by name; this is their source order). */
  readonly sequence: number;
}

export type DefineMigration<DM extends GenericDataModel> = <T extends TableNamesOf<DM>>(
  options: MigrationOptions<DM, T>,
) => MigrationDefinition;

let defined = 0;

function untyped(options: MigrationOptions<any, string>): MigrationDefinition {
  if (typeof options !== 'object' || options === null)
    throw new Error('defineMigration: give { table, migrateOne, batchSize? }');
  if (typeof options.table !== 'string' || options.table === '')
    throw new Error('defineMigration: table must be the name of a table of the schema');
  if (typeof options.migrateOne !== 'function')
    throw new Error('defineMigration: migrateOne must be a function (ctx, doc) => patch | void');
  const batchSize = options.batchSize ?? DEFAULT_MIGRATION_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_MIGRATION_BATCH_SIZE)
    throw new Error(`defineMigration: batchSize must be a whole number from 1 to ${MAX_MIGRATION_BATCH_SIZE}`);
  return Object.freeze({
    isMigration: true as const,
    table: options.table,
    batchSize,
    migrateOne: options.migrateOne,
    definedAt: new Error().stack,
    sequence: ++defined,
  });
}

// The generated api.ts re-exports it typed with the app's data model.
export const defineMigration: DefineMigration<GenericDataModel> = untyped as DefineMigration<GenericDataModel>;

export function isMigrationDefinition(value: unknown): value is MigrationDefinition {
  return typeof value === 'object' && value !== null && (value as MigrationDefinition).isMigration === true;
}
