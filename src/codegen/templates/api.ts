// api.ts: the typed definition API bound to the app's data model, and the `api` references.
// Reference types come from `typeof` over the modules themselves (never copied out), so they
// follow the handlers' inferred types exactly.
import type { AppModel, FunctionModel, ModuleModel } from '../model.js';
import { banner, propertyKey } from './banner.js';

interface Folder {
  functions: { module: ModuleModel; alias: string; fn: FunctionModel }[];
  children: Map<string, Folder>;
}

function folderTree(modules: ModuleModel[], aliases: Map<ModuleModel, string>): Folder {
  const root: Folder = { functions: [], children: new Map() };
  for (const module of modules) {
    let folder = root;
    for (const segment of module.path.split('/')) {
      if (!folder.children.has(segment)) folder.children.set(segment, { functions: [], children: new Map() });
      folder = folder.children.get(segment)!;
    }
    for (const fn of module.functions) folder.functions.push({ module, alias: aliases.get(module)!, fn });
  }
  return root;
}

function entries(folder: Folder): [string, { leaf?: Folder['functions'][number]; folder?: Folder }][] {
  const all: [string, { leaf?: Folder['functions'][number]; folder?: Folder }][] = [
    ...folder.functions.map((leaf) => [leaf.fn.name, { leaf }] as [string, { leaf: typeof leaf }]),
    ...[...folder.children].map(([name, child]) => [name, { folder: child }] as [string, { folder: Folder }]),
  ];
  return all.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function renderType(folder: Folder, indent: string): string[] {
  return entries(folder).flatMap(([name, entry]) =>
    entry.leaf
      ? [`${indent}${propertyKey(name)}: RefOf<typeof ${entry.leaf.alias}.${entry.leaf.fn.name}>;`]
      : [`${indent}${propertyKey(name)}: {`, ...renderType(entry.folder!, `${indent}  `), `${indent}};`],
  );
}

function renderValue(folder: Folder, indent: string): string[] {
  return entries(folder).flatMap(([name, entry]) => {
    if (!entry.leaf)
      return [`${indent}${propertyKey(name)}: {`, ...renderValue(entry.folder!, `${indent}  `), `${indent}},`];
    const { fn, module } = entry.leaf;
    const options = [`access: '${fn.access}'`];
    if (fn.safeToRetry) options.push('safeToRetry: true');
    if (fn.sensitive) options.push('sensitive: true');
    return [
      `${indent}${propertyKey(name)}: functionRef('${module.path}:${fn.name}', '${fn.kind}', { ${options.join(', ')} }),`,
    ];
  });
}

/** Stable, readable import aliases: `admin/users` → `admin_users`. */
function moduleAliases(modules: ModuleModel[]): Map<ModuleModel, string> {
  const aliases = new Map<ModuleModel, string>();
  const taken = new Set(['api', 'functionRef']);
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
    '  DefineMutation,',
    '  DefineQuery,',
    '  HttpAction,',
    '  MutationCtx as GenericMutationCtx,',
    '  QueryCtx as GenericQueryCtx,',
    '  RefOf,',
    "} from 'valet/server';",
    'import {',
    '  defineAction as untypedDefineAction,',
    '  defineMutation as untypedDefineMutation,',
    '  defineQuery as untypedDefineQuery,',
    '  functionRef,',
    '  httpAction as untypedHttpAction,',
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
    '',
    'export type Api = {',
    ...renderType(tree, '  '),
    '};',
    '',
    '/** References to every function: `api.users.get` is `users:get`. */',
    'export const api = {',
    ...renderValue(tree, '  '),
    '} as unknown as Api;',
    '',
  ].join('\n');
}
