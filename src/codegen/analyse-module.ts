// Static analysis of one valet/ module: which exports are functions, of which kind, with which
// options. It reads the syntax only (oxc-parser, ~10 ms to load) and never runs user code, so
// codegen works offline, in CI, and on an app whose other modules are broken or need secrets.
import { parseSync } from 'oxc-parser';
import type { Access, FunctionKind } from '../server/functions.js';
import { ACCESS_LEVELS } from '../server/functions.js';
import type { Diagnostic, FunctionModel, SourceLocation } from './model.js';
import { lineLocator } from './source-lines.js';

type Node = { type: string; start: number; end: number; [key: string]: any };

const DEFINERS: Record<string, FunctionKind> = { defineQuery: 'query', defineMutation: 'mutation', defineAction: 'action' };
const ACTION_ONLY_OPTIONS = ['safeToRetry', 'sensitive', 'timeoutMs'];

/** Where define* may come from: the app's generated api, or the package itself. */
export function isValetApiSource(source: string): boolean {
  return /(^|\/)_generated\/valet\/api(\.[jt]s)?$/.test(source) || source === 'valet/server';
}

export interface ModuleAnalysis {
  functions: FunctionModel[];
  hasDefaultExport: boolean;
  diagnostics: Diagnostic[];
}

export function analyseModule(file: string, text: string): ModuleAnalysis {
  const locate = lineLocator(file, text);
  const diagnostics: Diagnostic[] = [];
  const report = (node: { start: number }, message: string) => diagnostics.push({ ...locate(node.start), message });

  const parsed = parseSync(file, text, { sourceType: 'module' });
  if (parsed.errors.length > 0) {
    for (const error of parsed.errors) {
      const at = error.labels[0]?.start ?? 0;
      diagnostics.push({ ...locate(at), message: `syntax error: ${error.message}` });
    }
    return { functions: [], hasDefaultExport: false, diagnostics };
  }

  const body = parsed.program.body as unknown as Node[];
  const definers = importedDefiners(body);
  const definitions = new Map<string, Node>(); // top-level `const x = defineQuery(...)`, by local name
  for (const statement of body) {
    const declaration = statement.type === 'ExportNamedDeclaration' ? statement.declaration : statement;
    if (declaration?.type !== 'VariableDeclaration') continue;
    for (const declarator of declaration.declarations as Node[]) {
      if (declarator.id.type === 'Identifier' && definerKind(declarator.init, definers)) {
        if (declaration.kind !== 'const') report(declaration, `define functions with \`const\`, not \`${declaration.kind}\`, so they cannot be reassigned`);
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
      const target = statement.declaration.type === 'Identifier' ? definitions.get(statement.declaration.name) : statement.declaration;
      if (target && definerKind(target, definers)) addFunction('default', target);
    } else if (statement.type === 'ExportAllDeclaration') {
      report(statement, 're-exports are not analysed: export functions from the module that defines them');
    } else if (statement.type === 'ExportNamedDeclaration') {
      if (statement.source) {
        report(statement, 're-exports are not analysed: export functions from the module that defines them');
        continue;
      }
      if (statement.declaration?.type === 'VariableDeclaration') {
        for (const declarator of statement.declaration.declarations as Node[]) {
          if (declarator.id.type === 'Identifier' && definitions.has(declarator.id.name)) addFunction(declarator.id.name, declarator.init);
        }
      }
      for (const specifier of (statement.specifiers ?? []) as Node[]) {
        const local = definitions.get(specifier.local.name);
        if (!local) continue;
        const exported = specifier.exported.type === 'Identifier' ? specifier.exported.name : specifier.exported.value;
        if (exported === 'default') hasDefaultExport = true;
        addFunction(exported, local);
      }
    }
  }
  diagnostics.sort((a, b) => a.line - b.line || a.column - b.column);
  return { functions, hasDefaultExport, diagnostics };
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
  while (['TSAsExpression', 'TSSatisfiesExpression', 'ParenthesizedExpression', 'TSNonNullExpression'].includes(current.type)) {
    current = current.expression;
  }
  return current;
}

function propertyName(property: Node): string | undefined {
  if (property.computed) return property.key.type === 'Literal' ? String(property.key.value) : undefined;
  return property.key.type === 'Identifier' ? property.key.name : property.key.type === 'Literal' ? String(property.key.value) : undefined;
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
    report(call, `${name}: pass the definition to ${definer}(...) as an object literal, so codegen can read its options`);
    return null;
  }
  const values: Record<string, Node> = {};
  for (const property of options.properties as Node[]) {
    if (property.type === 'SpreadElement') {
      report(property, `${name}: a spread in a definition hides its options from codegen; write access, safeToRetry and sensitive directly`);
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
