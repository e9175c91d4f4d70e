// Finds the Valet functions in a module, and the names through which their handler reaches ctx.db
// and ctx.email, so the rules can recognise `ctx.db.insert(...)` and friends.
import { isValetApiSource } from '../codegen/analyse-module.js';
import type { SyntaxNode, SyntaxTree } from './syntax-tree.js';
import { isFunction, propertyOf, stringValue, unwrap } from './syntax-tree.js';

export type SiteKind = 'query' | 'mutation' | 'action' | 'http';

export interface FunctionSite {
  tree: SyntaxTree;
  kind: SiteKind;
  /** Export name, or `httpAction` for route handlers. */
  name: string;
  access: string;
  safeToRetry: boolean;
  handler: SyntaxNode;
  /** Expressions that denote the database: `ctx.db`, or `db` when the handler destructures ctx. */
  dbExpressions: Set<string>;
  emailExpressions: Set<string>;
  /** Expressions that denote file storage: `ctx.storage`, or `storage` when destructured. */
  storageExpressions: Set<string>;
}

const DEFINERS: Record<string, SiteKind> = {
  defineQuery: 'query',
  defineMutation: 'mutation',
  defineAction: 'action',
  httpAction: 'http',
};

function definersIn(tree: SyntaxTree): Map<string, SiteKind> {
  const found = new Map<string, SiteKind>();
  for (const declaration of tree.program.body as SyntaxNode[]) {
    if (declaration.type !== 'ImportDeclaration' || !isValetApiSource(declaration.source.value)) continue;
    for (const specifier of declaration.specifiers as SyntaxNode[]) {
      if (specifier.type !== 'ImportSpecifier') continue;
      const imported = specifier.imported.type === 'Identifier' ? specifier.imported.name : specifier.imported.value;
      const kind = DEFINERS[imported];
      if (kind) found.set(specifier.local.name, kind);
    }
  }
  return found;
}

function literalOption(options: SyntaxNode | undefined, key: string): string | boolean | undefined {
  const property = propertyOf(options, key);
  if (!property || property.method) return undefined;
  const value = unwrap(property.value);
  const text = stringValue(value);
  if (text !== null) return text;
  if (value?.type === 'Literal' && typeof value.value === 'boolean') return value.value;
  return undefined;
}

function handlerOf(call: SyntaxNode, kind: SiteKind, options: SyntaxNode | undefined): SyntaxNode | undefined {
  if (kind === 'http') return call.arguments[0];
  const property = propertyOf(options, 'handler');
  if (!property) return undefined;
  // `handler(ctx) { … }` and `handler: async (ctx) => …` alike: the function is the value.
  return property.value;
}

/** `(ctx) =>` gives ctx.db / ctx.email / ctx.storage; `({ db, email: mail }) =>` gives db / mail. */
function contextNames(handler: SyntaxNode): { db: Set<string>; email: Set<string>; storage: Set<string> } {
  const db = new Set<string>();
  const email = new Set<string>();
  const storage = new Set<string>();
  if (isFunction(handler)) {
    const first: SyntaxNode | undefined = handler.params[0];
    const name = first?.type === 'AssignmentPattern' ? first.left : first;
    if (name?.type === 'Identifier') {
      db.add(`${name.name}.db`);
      email.add(`${name.name}.email`);
      storage.add(`${name.name}.storage`);
    } else if (name?.type === 'ObjectPattern') {
      for (const property of name.properties as SyntaxNode[]) {
        if (property.type !== 'Property' || property.computed) continue;
        const key = property.key.type === 'Identifier' ? property.key.name : property.key.value;
        const target = property.value.type === 'AssignmentPattern' ? property.value.left : property.value;
        if (target?.type !== 'Identifier') continue;
        if (key === 'db') db.add(target.name);
        if (key === 'email') email.add(target.name);
        if (key === 'storage') storage.add(target.name);
      }
    }
  }
  return { db, email, storage };
}

/** The name a call's result is declared under: `export const name = define…(…)`. */
function declaredName(tree: SyntaxTree, call: SyntaxNode): string | undefined {
  for (let node = tree.parentOf(call); node; node = tree.parentOf(node))
    if (node.type === 'VariableDeclarator') return node.id.type === 'Identifier' ? node.id.name : undefined;
  return undefined;
}

export function findFunctionSites(tree: SyntaxTree): FunctionSite[] {
  const definers = definersIn(tree);
  if (definers.size === 0) return [];
  const sites: FunctionSite[] = [];
  for (const call of tree.descendants(tree.program, 'CallExpression')) {
    const callee = unwrap(call.callee);
    const kind = callee?.type === 'Identifier' ? definers.get(callee.name) : undefined;
    if (!kind) continue;
    const first = unwrap(call.arguments[0]);
    const options = first?.type === 'ObjectExpression' ? first : undefined;
    const handler = handlerOf(call, kind, options);
    if (!handler) continue;
    const names = contextNames(handler);
    sites.push({
      tree,
      kind,
      name: kind === 'http' ? 'httpAction' : (declaredName(tree, call) ?? 'default'),
      access: (literalOption(options, 'access') as string | undefined) ?? 'authenticated',
      safeToRetry: literalOption(options, 'safeToRetry') === true,
      handler,
      dbExpressions: names.db,
      emailExpressions: names.email,
      storageExpressions: names.storage,
    });
  }
  return sites;
}
