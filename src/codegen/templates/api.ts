// api.ts: the typed definition API bound to the app's data model, and the `api` references.
// Reference types come from `typeof` over the modules themselves (never copied out), so they
// follow the handlers' inferred types exactly.
import type { AppModel, ModuleModel } from '../model.js';
import { banner, propertyKey } from './banner.js';

interface Folder {
  /** The module at this path (`admin.ts` for `api.admin`), when there is one. */
  module?: { model: ModuleModel; alias: string };
  children: Map<string, Folder>;
}

function folderTree(modules: ModuleModel[], aliases: Map<ModuleModel, string>): Folder {
  const root: Folder = { children: new Map() };
  for (const module of modules) {
    let folder = root;
    for (const segment of module.path.split('/')) {
      if (!folder.children.has(segment)) folder.children.set(segment, { children: new Map() });
      folder = folder.children.get(segment)!;
    }
    folder.module = { model: module, alias: aliases.get(module)! };
  }
  return root;
}

function sortedChildren(folder: Folder): [string, Folder][] {
  return [...folder.children].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * A module's part of `Api`: each function codegen read, by its own export's type; and of its other
 * exports (named, so the type never looks at the rest of the module — a handler that uses
 * `api.thisModule.x` would otherwise make the module's type depend on itself), those whose type is
 * a function definition, however made. Subfolders beside them.
 */
function renderType(folder: Folder, indent: string): string {
  const members: string[] = [];
  const module = folder.module;
  for (const fn of module?.model.functions ?? [])
    members.push(`${indent}  ${propertyKey(fn.name)}: RefOf<typeof ${module!.alias}.${fn.name}>;`);
  for (const [name, child] of sortedChildren(folder))
    members.push(`${indent}  ${propertyKey(name)}: ${renderType(child, `${indent}  `)};`);
  const own = members.length ? ['{', ...members, `${indent}}`].join('\n') : '';
  const others = module?.model.otherExports.length
    ? `FunctionsOf<Pick<typeof ${module.alias}, ${module.model.otherExports.map((name) => JSON.stringify(name)).join(' | ')}>>`
    : '';
  return own && others ? `${own} & ${others}` : own || others || '{}';
}

/** The references: the functions codegen read (with their options), behind a name lookup for the rest. */
function renderValue(folder: Folder, indent: string): string {
  const entries: [string, string][] = [];
  for (const fn of folder.module?.model.functions ?? []) {
    const options = [`access: '${fn.access}'`];
    if (fn.safeToRetry) options.push('safeToRetry: true');
    if (fn.sensitive) options.push('sensitive: true');
    const path = `${folder.module!.model.path}:${fn.name}`;
    entries.push([fn.name, `functionRef('${path}', '${fn.kind}', { ${options.join(', ')} })`]);
  }
  for (const [name, child] of folder.children) entries.push([name, renderValue(child, `${indent}  `)]);
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const object = entries.length
    ? ['{', ...entries.map(([name, value]) => `${indent}  ${propertyKey(name)}: ${value},`), `${indent}}`].join('\n')
    : '{}';
  return folder.module ? `moduleReferences('${folder.module.model.path}', ${object})` : object;
}

/** Stable, readable import aliases: `admin/users` → `admin_users`. */
function moduleAliases(modules: ModuleModel[]): Map<ModuleModel, string> {
  const aliases = new Map<ModuleModel, string>();
  const taken = new Set(['api', 'functionRef', 'moduleReferences']);
  for (const module of modules) {
    const base = `module_${module.path.replace(/[^\w$]/g, '_')}`;
    let alias = base;
    for (let n = 2; taken.has(alias); n++) alias = `${base}_${n}`;
    taken.add(alias);
    aliases.set(module, alias);
  }
  return aliases;
}

export function renderApi(model: AppModel): string {
  const aliases = moduleAliases(model.modules);
  const tree = folderTree(model.modules, aliases);
  return [
    banner('The API of this app: typed define* functions bound to the schema, and `api` references to every function.'),
    'import type {',
    '  ActionCtx as GenericActionCtx,',
    '  DatabaseReader as GenericDatabaseReader,',
    '  DatabaseWriter as GenericDatabaseWriter,',
    '  DefineAction,',
    '  DefineMigration,',
    '  DefineMutation,',
    '  DefineQuery,',
    '  FunctionsOf,',
    '  HttpAction,',
    '  MutationCtx as GenericMutationCtx,',
    '  QueryCtx as GenericQueryCtx,',
    '  RefOf,',
    "} from 'valet/server';",
    'import {',
    '  defineAction as untypedDefineAction,',
    '  defineMigration as untypedDefineMigration,',
    '  defineMutation as untypedDefineMutation,',
    '  defineQuery as untypedDefineQuery,',
    '  functionRef,',
    '  httpAction as untypedHttpAction,',
    '  moduleReferences,',
    "} from 'valet/server';",
    "import type { DataModel } from './dataModel';",
    ...model.modules.map((m) => `import type * as ${aliases.get(m)} from '../../${m.importPath}';`),
    '',
    "export { cronJobs, defineSchema, defineTable, httpRouter, paginationOptsValidator, signWebhookPayload, v, ValetError, verifyWebhookSignature } from 'valet/server';",
    "export type { DataModel, Doc, Id, TableNames } from './dataModel';",
    '',
    '/** What handlers receive, for helper functions that take ctx (as `convex/_generated/server` has them). */',
    'export type QueryCtx = GenericQueryCtx<DataModel>;',
    'export type MutationCtx = GenericMutationCtx<DataModel>;',
    'export type ActionCtx = GenericActionCtx<DataModel>;',
    'export type DatabaseReader = GenericDatabaseReader<DataModel>;',
    'export type DatabaseWriter = GenericDatabaseWriter<DataModel>;',
    '',
    'export const defineQuery = untypedDefineQuery as unknown as DefineQuery<DataModel>;',
    'export const defineMutation = untypedDefineMutation as unknown as DefineMutation<DataModel>;',
    'export const defineAction = untypedDefineAction as unknown as DefineAction<DataModel>;',
    'export const httpAction = untypedHttpAction as unknown as HttpAction<DataModel>;',
    '/** A data migration, run in batches by `valet migrate` (docs/migrations.md). */',
    'export const defineMigration = untypedDefineMigration as unknown as DefineMigration<DataModel>;',
    '',
    '/** Every function of every module, by its type (so functions made by wrappers are here too). */',
    `export type Api = ${renderType(tree, '')};`,
    '',
    '/** References to every function: `api.users.get` is `users:get`. */',
    `export const api = ${renderValue(tree, '')} as unknown as Api;`,
    '',
  ].join('\n');
}
