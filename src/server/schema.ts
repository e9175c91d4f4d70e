// defineSchema and defineTable: the app's tables, their fields and indexes, as user code declares
// them (Convex's shape), read by the engine, codegen and the importer.
import type { GenericId, ObjectType, PropertyValidators } from './values.js';

export interface IndexDefinition {
  name: string;
  fields: string[];
}

/** A full-text index: words of `searchField`, narrowed by equality on `filterFields`. */
export interface SearchIndexDefinition {
  name: string;
  searchField: string;
  filterFields: string[];
}

/** How generated types know a search index: its search field and its filter fields (a union). */
export interface SearchIndexShape {
  searchField: string;
  filterFields: string;
}

/** A field of a table, or a dotted path into one (`properties.name`), as search indexes name them. */
export type FieldPath<Fields> = (keyof Fields & string) | `${keyof Fields & string}.${string}`;

/** Convex's limit on filter fields per search index. */
const MAX_FILTER_FIELDS = 16;
const INDEX_NAME = /^[A-Za-z][\w]*$/;

/** Fields every document has; the engine sets them, user code never does. */
export type SystemFields<Table extends string> = { _id: GenericId<Table>; _creationTime: number };
const SYSTEM_FIELDS = new Set(['_id', '_creationTime']);

export class TableDefinition<
  Fields extends PropertyValidators = PropertyValidators,
  Indexes extends Record<string, readonly string[]> = {},
  SearchIndexes extends Record<string, SearchIndexShape> = {},
> {
  /** Phantom: the declared indexes, for typing `withIndex`. */
  declare readonly indexTypes: Indexes;
  /** Phantom: the declared search indexes, for typing `withSearchIndex`. */
  declare readonly searchIndexTypes: SearchIndexes;

  constructor(
    readonly fields: Fields,
    readonly indexes: readonly IndexDefinition[] = [],
    readonly searchIndexes: readonly SearchIndexDefinition[] = [],
  ) {
    for (const name of Object.keys(fields)) {
      if (name.startsWith('_'))
        throw new Error(`field "${name}": names starting with "_" are reserved for system fields`);
    }
  }

  /** Declares a real SQLite index over `fields`, in order (used by `withIndex`). */
  index<
    const Name extends string,
    const IndexFields extends readonly [keyof Fields & string, ...(keyof Fields & string)[]],
  >(name: Name, fields: IndexFields): TableDefinition<Fields, Indexes & Record<Name, IndexFields>, SearchIndexes> {
    this.checkNewIndexName(name);
    if (fields.length === 0) throw new Error(`index "${name}" needs at least one field`);
    for (const field of fields) {
      if (!Object.hasOwn(this.fields, field) && !SYSTEM_FIELDS.has(field)) {
        throw new Error(`index "${name}" names field "${field}", which the table does not declare`);
      }
    }
    return new TableDefinition(this.fields, [...this.indexes, { name, fields: [...fields] }], this.searchIndexes);
  }

  /**
   * Declares a full-text index over the words of `searchField` (used by `withSearchIndex`), with
   * `filterFields` that a search can narrow by equality. Either may be a dotted path into a
   * nested object (`properties.name`), as in Convex. A document whose search field is not a string
   * is not in the index.
   */
  searchIndex<
    const Name extends string,
    const SearchField extends FieldPath<Fields>,
    const FilterFields extends FieldPath<Fields> = never,
  >(
    name: Name,
    config: { searchField: SearchField; filterFields?: readonly FilterFields[] },
  ): TableDefinition<
    Fields,
    Indexes,
    SearchIndexes & Record<Name, { searchField: SearchField; filterFields: FilterFields }>
  > {
    this.checkNewIndexName(name);
    const { searchField, filterFields = [] } = config ?? ({} as typeof config);
    if (typeof searchField !== 'string' || !this.declaresPath(searchField))
      throw new Error(`search index "${name}": searchField must name a field the table declares`);
    if (!Array.isArray(filterFields) || filterFields.length > MAX_FILTER_FIELDS)
      throw new Error(`search index "${name}": filterFields must be a list of at most ${MAX_FILTER_FIELDS} fields`);
    for (const field of filterFields) {
      if (typeof field !== 'string' || !this.declaresPath(field))
        throw new Error(`search index "${name}" filters on field "${String(field)}", which the table does not declare`);
    }
    if (new Set(filterFields).size !== filterFields.length)
      throw new Error(`search index "${name}" names a filter field twice`);
    return new TableDefinition(this.fields, this.indexes, [
      ...this.searchIndexes,
      { name, searchField, filterFields: [...filterFields] },
    ]);
  }

  /** A declared field, or a dotted path into one (`properties.name`). */
  private declaresPath(path: string): boolean {
    const parts = path.split('.');
    return parts.every((part) => /^[A-Za-z]\w*$/.test(part)) && Object.hasOwn(this.fields, parts[0]!);
  }

  private checkNewIndexName(name: string): void {
    if (typeof name !== 'string' || !INDEX_NAME.test(name))
      throw new Error(`index "${name}": use letters, digits and "_"`);
    if (name === 'by_creation_time' || name === 'by_id')
      throw new Error(`index "${name}" is built in on every table: pick another name`);
    if (this.indexes.some((index) => index.name === name) || this.searchIndexes.some((index) => index.name === name))
      throw new Error(`index "${name}" is declared twice`);
  }
}

export function defineTable<const Fields extends PropertyValidators>(fields: Fields): TableDefinition<Fields, {}, {}> {
  return new TableDefinition(fields);
}

export type AnyTableDefinition = TableDefinition<any, any, any>;

export interface SchemaOptions {
  /** Validate documents on every write (default true). */
  schemaValidation?: boolean;
}

export class SchemaDefinition<Tables extends Record<string, AnyTableDefinition>> {
  constructor(
    readonly tables: Tables,
    readonly options: Required<SchemaOptions>,
  ) {
    for (const name of Object.keys(tables)) {
      if (!/^[A-Za-z][\w]*$/.test(name))
        throw new Error(`table "${name}": use letters, digits and "_", starting with a letter`);
    }
  }
}

/**
 * A table's definition by name, own properties only: `constructor` or `__proto__` is not a table
 * just because every object inherits one.
 */
export function tableDefinition(
  schema: SchemaDefinition<any> | null | undefined,
  table: string,
): AnyTableDefinition | undefined {
  return schema && typeof table === 'string' && Object.hasOwn(schema.tables, table)
    ? (schema.tables[table] as AnyTableDefinition)
    : undefined;
}

export function defineSchema<const Tables extends Record<string, AnyTableDefinition>>(
  tables: Tables,
  options: SchemaOptions = {},
): SchemaDefinition<Tables> {
  return new SchemaDefinition(tables, { schemaValidation: options.schemaValidation ?? true });
}

type Expand<T> = T extends infer O ? { [K in keyof O]: O[K] } : never;

/** What the engine and ctx types know about one table. */
export interface TableInfo {
  document: Record<string, any> & { _id: string; _creationTime: number };
  indexes: Record<string, readonly string[]>;
  /** Absent in data models written before search indexes existed: then there are none. */
  searchIndexes?: Record<string, SearchIndexShape>;
}

export type GenericDataModel = Record<string, TableInfo>;

/** Every table has these, as in Convex. */
export type BuiltInIndexes = { by_creation_time: ['_creationTime']; by_id: ['_id'] };

/** Used when an app has no schema yet: any table, any fields. */
export type AnyDataModel = {
  [table: string]: {
    // `any`, as Convex types the documents of an app without a schema: a typed _id (GenericId<string>)
    // would not be an Id<'users'>, and every helper that takes one would need a cast.
    document: any;
    indexes: Record<string, readonly string[]>;
    searchIndexes: Record<string, { searchField: string; filterFields: string }>;
  };
};

export type DataModelFromSchema<S extends SchemaDefinition<any>> = {
  [Table in keyof S['tables'] & string]: S['tables'][Table] extends TableDefinition<
    infer Fields,
    infer Indexes,
    infer SearchIndexes
  >
    ? {
        document: Expand<SystemFields<Table> & ObjectType<Fields>>;
        indexes: Expand<Indexes & BuiltInIndexes>;
        searchIndexes: Expand<SearchIndexes>;
      }
    : never;
};

export type TableNamesOf<DM extends GenericDataModel> = keyof DM & string;
export type DocumentOf<DM extends GenericDataModel, Table extends TableNamesOf<DM>> = DM[Table]['document'];
