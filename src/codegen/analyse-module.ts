// Static analysis of one valet/ module: which exports are functions, of which kind, with which
// options. It reads the syntax only (oxc-parser, ~10 ms to load) and never runs user code, so
// codegen works offline, in CI, and on an app whose other modules are broken or need secrets.
import { parseModule } from './parse.js';
import type { Access, FunctionKind } from '../server/functions.js';
import { ACCESS_LEVELS } from '../server/functions.js';
import type { Diagnostic, FunctionModel, SourceLocation } from './model.js';
import { lineLocator } from './source-lines.js';

type Node = { type: string; start: number; end: number; [key: string]: any };

const DEFINERS: Record<string, FunctionKind> = {
  defineQuery: 'query',
  defineMutation: 'mutation',
  defineAction: 'action',
};
const ACTION_ONLY_OPTIONS = ['safeToRetry', 'sensitive', 'timeoutMs'];

/** Where define* may come from: the app's generated api, or the package itself. */
export function isValetApiSource(source: string): boolean {
  return /(^|\/)_generated\/valet\/api(\.[jt]s)?$/.test(source) || source === 'valet/server';
}

/** `export { a as b } from './x'` (names) or `export * from './x'` (all). */
export interface ReExport {
  source: string;
  /** exported name → name in the source module; null for `export *`. */
  names: Map<string, string> | null;
  line: number;
}

export interface ModuleAnalysis {
  functions: FunctionModel[];
  hasDefaultExport: boolean;
  diagnostics: Diagnostic[];
  reExports: ReExport[];
  /**
   * The names it exports values under (`default` included, types not), whatever they are: a
   * function made by a wrapper codegen cannot read may be among them, and the generated `Api` type
   * keeps those whose type is a function definition.
   */
  exportedValues: string[];
}

/** Convex's imports, and the Valet import that replaces each. */
const CONVEX_IMPORTS: [RegExp, string][] = [
  [
    /(^|\/)_generated\/server(\.[jt]s)?$/,
    "import { defineQuery, defineMutation, defineAction, httpAction } from './_generated/valet/api' (query → defineQuery, internalMutation → defineMutation({ access: 'system', … }))",
  ],
  [
    /(^|\/)_generated\/api(\.[jt]s)?$/,
    "import { api } from './_generated/valet/api' (internal.x.y → api.x.y of a function with access: 'system')",
  ],
  [/(^|\/)_generated\/dataModel(\.[jt]s)?$/, "import type { Doc, Id } from './_generated/valet/api'"],
  [/^convex\/values$/, "import { v, ValetError } from './_generated/valet/api'"],
  [
    /^convex\/server$/,
    "import { cronJobs, defineSchema, defineTable, httpRouter, paginationOptsValidator } from './_generated/valet/api'",
  ],
  [/^convex(\/.*)?$/, "import from './_generated/valet/api' (see docs/moving-from-convex.md)"],
];

export function convexImportHint(source: string): string | null {
  return CONVEX_IMPORTS.find(([pattern]) => pattern.test(source))?.[1] ?? null;
}

export function analyseModule(file: string, text: string): ModuleAnalysis {
  const locate = lineLocator(file, text);
  const diagnostics: Diagnostic[] = [];
  const report = (node: { start: number }, message: string) => diagnostics.push({ ...locate(node.start), message });

  const parsed = parseModule(file, text);
  if (parsed.errors.length > 0) {
    for (const error of parsed.errors) {
      const at = error.labels[0]?.start ?? 0;
      diagnostics.push({ ...locate(at), message: `syntax error: ${error.message}` });
    }
    return { functions: [], hasDefaultExport: false, diagnostics, reExports: [], exportedValues: [] };
  }

  const body = parsed.program.body as unknown as Node[];
  for (const statement of body) {
    if (statement.type !== 'ImportDeclaration') continue;
    const hint = convexImportHint(statement.source.value);
    if (hint) report(statement, `"${statement.source.value}" is Convex's: in Valet, ${hint}`);
  }
  const definers = importedDefiners(body);
  // `const query = defineQuery;`: an alias defines functions as well as the name it stands for.
  for (const statement of body) {
    if (statement.type !== 'VariableDeclaration') continue;
    for (const declarator of statement.declarations as Node[]) {
      if (
        declarator.id.type === 'Identifier' &&
        declarator.init?.type === 'Identifier' &&
        definers.has(declarator.init.name)
      ) {
        definers.set(declarator.id.name, definers.get(declarator.init.name)!);
      }
    }
  }
  const imports = importedBindings(body);
  const reExports: ReExport[] = [];
  const definitions = new Map<string, Node>(); // top-level `const x = defineQuery(...)`, by local name
  for (const statement of body) {
    const declaration = statement.type === 'ExportNamedDeclaration' ? statement.declaration : statement;
    if (declaration?.type !== 'VariableDeclaration') continue;
    for (const declarator of declaration.declarations as Node[]) {
      if (declarator.id.type === 'Identifier' && definerKind(declarator.init, definers)) {
        if (declaration.kind !== 'const')
          report(
            declaration,
            `define functions with \`const\`, not \`${declaration.kind}\`, so they cannot be reassigned`,
          );
        definitions.set(declarator.id.name, declarator.init);
      }
    }
  }

  const functions: FunctionModel[] = [];
  const addFunction = (name: string, call: Node) => {
    const model = readDefinition(name, call, definers, locate, report);
    if (model) functions.push(model);
  };
  let hasDefaultExport = false;
  for (const statement of body) {
    if (statement.type === 'ExportDefaultDeclaration') {
      hasDefaultExport = true;
      const target =
        statement.declaration.type === 'Identifier'
          ? definitions.get(statement.declaration.name)
          : statement.declaration;
      if (target && definerKind(target, definers)) addFunction('default', target);
    } else if (statement.type === 'ExportAllDeclaration') {
      if (statement.exported) continue; // `export * as ns from`: a namespace object, not functions
      reExports.push({ source: statement.source.value, names: null, line: locate(statement.start).line });
    } else if (statement.type === 'ExportNamedDeclaration') {
      if (statement.source) {
        const names = new Map<string, string>();
        for (const specifier of (statement.specifiers ?? []) as Node[])
          names.set(exportName(specifier.exported), exportName(specifier.local));
        reExports.push({ source: statement.source.value, names, line: locate(statement.start).line });
        continue;
      }
      if (statement.declaration?.type === 'VariableDeclaration') {
        for (const declarator of statement.declaration.declarations as Node[]) {
          if (declarator.id.type === 'Identifier' && definitions.has(declarator.id.name))
            addFunction(declarator.id.name, declarator.init);
        }
      }
      for (const specifier of (statement.specifiers ?? []) as Node[]) {
        const exported = exportName(specifier.exported);
        if (exported === 'default') hasDefaultExport = true;
        const local = definitions.get(specifier.local.name);
        if (local) {
          addFunction(exported, local);
          continue;
        }
        // `import { x } from './other'; export { x }`: a re-export by another spelling.
        const imported = imports.get(specifier.local.name);
        if (imported)
          reExports.push({
            source: imported.source,
            names: new Map([[exported, imported.name]]),
            line: locate(statement.start).line,
          });
      }
    }
  }
  diagnostics.sort((a, b) => a.line - b.line || a.column - b.column);
  return { functions, hasDefaultExport, diagnostics, reExports, exportedValues: exportedValueNames(body) };
}

const TYPE_DECLARATIONS = ['TSInterfaceDeclaration', 'TSTypeAliasDeclaration', 'TSDeclareFunction'];

/** The value names a module exports, in source order (`export * from` adds none it can name). */
function exportedValueNames(body: Node[]): string[] {
  const names: string[] = [];
  for (const statement of body) {
    if (statement.exportKind === 'type') continue;
    if (statement.type === 'ExportDefaultDeclaration') names.push('default');
    if (statement.type !== 'ExportNamedDeclaration') continue;
    const declaration = statement.declaration;
    if (declaration && !TYPE_DECLARATIONS.includes(declaration.type)) {
      if (declaration.type === 'VariableDeclaration') {
        for (const declarator of declaration.declarations as Node[])
          if (declarator.id.type === 'Identifier') names.push(declarator.id.name);
      } else if (declaration.id?.type === 'Identifier') names.push(declaration.id.name);
    }
    for (const specifier of (statement.specifiers ?? []) as Node[])
      if (specifier.exportKind !== 'type') names.push(exportName(specifier.exported));
  }
  return [...new Set(names)];
}

function exportName(node: Node): string {
  return node.type === 'Identifier' ? node.name : node.value;
}

/** Local names bound by relative imports: local → { source, imported name }. */
function importedBindings(body: Node[]): Map<string, { source: string; name: string }> {
  const bindings = new Map<string, { source: string; name: string }>();
  for (const statement of body) {
    if (statement.type !== 'ImportDeclaration' || !String(statement.source.value).startsWith('.')) continue;
    for (const specifier of statement.specifiers as Node[]) {
      if (specifier.type === 'ImportSpecifier')
        bindings.set(specifier.local.name, { source: statement.source.value, name: exportName(specifier.imported) });
      else if (specifier.type === 'ImportDefaultSpecifier')
        bindings.set(specifier.local.name, { source: statement.source.value, name: 'default' });
    }
  }
  return bindings;
}

/** Local names bound to defineQuery / defineMutation / defineAction, following `as` renames. */
function importedDefiners(body: Node[]): Map<string, FunctionKind> {
  const definers = new Map<string, FunctionKind>();
  for (const statement of body) {
    if (statement.type !== 'ImportDeclaration' || !isValetApiSource(statement.source.value)) continue;
    for (const specifier of statement.specifiers as Node[]) {
      if (specifier.type !== 'ImportSpecifier') continue;
      const imported = specifier.imported.type === 'Identifier' ? specifier.imported.name : specifier.imported.value;
      const kind = DEFINERS[imported];
      if (kind) definers.set(specifier.local.name, kind);
    }
  }
  return definers;
}

function definerKind(node: Node | null | undefined, definers: Map<string, FunctionKind>): FunctionKind | undefined {
  if (node?.type !== 'CallExpression' || node.callee.type !== 'Identifier') return undefined;
  return definers.get(node.callee.name);
}

/** `'public' as const`, `('public')` and `'public' satisfies Access` all read as the literal. */
function unwrap(node: Node): Node {
  let current = node;
  while (
    ['TSAsExpression', 'TSSatisfiesExpression', 'ParenthesizedExpression', 'TSNonNullExpression'].includes(current.type)
  ) {
    current = current.expression;
  }
  return current;
}

function propertyName(property: Node): string | undefined {
  if (property.computed) return property.key.type === 'Literal' ? String(property.key.value) : undefined;
  return property.key.type === 'Identifier'
    ? property.key.name
    : property.key.type === 'Literal'
      ? String(property.key.value)
      : undefined;
}

function readDefinition(
  name: string,
  call: Node,
  definers: Map<string, FunctionKind>,
  locate: (offset: number) => SourceLocation,
  report: (node: Node, message: string) => void,
): FunctionModel | null {
  const kind = definerKind(call, definers)!;
  const definer = call.callee.name;
  const options = call.arguments[0] ? unwrap(call.arguments[0]) : undefined;
  if (options?.type !== 'ObjectExpression') {
    report(
      call,
      `${name}: pass the definition to ${definer}(...) as an object literal, so codegen can read its options`,
    );
    return null;
  }
  const values: Record<string, Node> = {};
  for (const property of options.properties as Node[]) {
    if (property.type === 'SpreadElement') {
      report(
        property,
        `${name}: a spread in a definition hides its options from codegen; write access, safeToRetry and sensitive directly`,
      );
      return null;
    }
    const key = propertyName(property);
    if (key) values[key] = property;
  }

  let ok = true;
  const literal = (key: string, type: 'string' | 'boolean'): unknown => {
    const property = values[key];
    if (!property) return undefined;
    const value = property.shorthand ? property.value : unwrap(property.value);
    if (value.type === 'Literal' && typeof value.value === type) return value.value;
    report(value, `${name}: ${key} must be a ${type} literal so codegen can read it without running the module`);
    ok = false;
    return undefined;
  };
  const access = (literal('access', 'string') ?? 'authenticated') as Access;
  if (!ACCESS_LEVELS.includes(access)) {
    report(values.access!.value, `${name}: access must be one of ${ACCESS_LEVELS.map((a) => `'${a}'`).join(', ')}`);
    ok = false;
  }
  const safeToRetry = literal('safeToRetry', 'boolean') === true;
  const sensitive = literal('sensitive', 'boolean') === true;
  if (kind !== 'action') {
    for (const key of ACTION_ONLY_OPTIONS) {
      if (values[key]) {
        report(values[key]!, `${name}: ${key} applies to actions only`);
        ok = false;
      }
    }
  }
  if (!values.handler) {
    report(call, `${name}: ${definer}(...) needs a handler`);
    ok = false;
  }
  return ok ? { name, kind, access, safeToRetry, sensitive, line: locate(call.start).line } : null;
}
