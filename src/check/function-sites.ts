// Finds the Valet functions in a module with ts-morph, and the names through which their handler
// reaches ctx.db and ctx.email, so the rules can recognise `ctx.db.insert(...)` and friends.
import { Node, SyntaxKind } from './ts-morph.js';
import type { CallExpression, ObjectLiteralExpression, SourceFile } from 'ts-morph';
import { isValetApiSource } from '../codegen/analyse-module.js';

export type SiteKind = 'query' | 'mutation' | 'action' | 'http';

export interface FunctionSite {
  kind: SiteKind;
  /** Export name, or `httpAction` for route handlers. */
  name: string;
  access: string;
  safeToRetry: boolean;
  handler: Node;
  /** Expressions that denote the database: `ctx.db`, or `db` when the handler destructures ctx. */
  dbExpressions: Set<string>;
  emailExpressions: Set<string>;
}

const DEFINERS: Record<string, SiteKind> = {
  defineQuery: 'query',
  defineMutation: 'mutation',
  defineAction: 'action',
  httpAction: 'http',
};

function definersIn(file: SourceFile): Map<string, SiteKind> {
  const found = new Map<string, SiteKind>();
  for (const declaration of file.getImportDeclarations()) {
    if (!isValetApiSource(declaration.getModuleSpecifierValue())) continue;
    for (const specifier of declaration.getNamedImports()) {
      const kind = DEFINERS[specifier.getName()];
      if (kind) found.set(specifier.getAliasNode()?.getText() ?? specifier.getName(), kind);
    }
  }
  return found;
}

function literalOption(options: ObjectLiteralExpression | undefined, key: string): string | boolean | undefined {
  const property = options?.getProperty(key);
  if (!property || !Node.isPropertyAssignment(property)) return undefined;
  let value = property.getInitializer();
  while (
    value &&
    (Node.isAsExpression(value) || Node.isSatisfiesExpression(value) || Node.isParenthesizedExpression(value))
  )
    value = value.getExpression();
  if (Node.isStringLiteral(value)) return value.getLiteralValue();
  if (value?.getKind() === SyntaxKind.TrueKeyword) return true;
  if (value?.getKind() === SyntaxKind.FalseKeyword) return false;
  return undefined;
}

function handlerOf(
  call: CallExpression,
  kind: SiteKind,
  options: ObjectLiteralExpression | undefined,
): Node | undefined {
  if (kind === 'http') return call.getArguments()[0];
  const property = options?.getProperty('handler');
  if (!property) return undefined;
  if (Node.isMethodDeclaration(property)) return property;
  if (Node.isPropertyAssignment(property)) return property.getInitializer();
  return undefined;
}

/** `(ctx) =>` gives ctx.db / ctx.email; `({ db, email: mail }) =>` gives db / mail. */
function contextNames(handler: Node): { db: Set<string>; email: Set<string> } {
  const db = new Set<string>();
  const email = new Set<string>();
  if (Node.isArrowFunction(handler) || Node.isFunctionExpression(handler) || Node.isMethodDeclaration(handler)) {
    const name = handler.getParameters()[0]?.getNameNode();
    if (Node.isIdentifier(name)) {
      db.add(`${name.getText()}.db`);
      email.add(`${name.getText()}.email`);
    } else if (Node.isObjectBindingPattern(name)) {
      for (const element of name.getElements()) {
        const property = element.getPropertyNameNode()?.getText() ?? element.getName();
        if (property === 'db') db.add(element.getName());
        if (property === 'email') email.add(element.getName());
      }
    }
  }
  return { db, email };
}

export function findFunctionSites(file: SourceFile): FunctionSite[] {
  const definers = definersIn(file);
  if (definers.size === 0) return [];
  const sites: FunctionSite[] = [];
  for (const call of file.getDescendantsOfKind(SyntaxKind.CallExpression)) {
    const kind = definers.get(call.getExpression().getText());
    if (!kind) continue;
    const first = call.getArguments()[0];
    const options = Node.isObjectLiteralExpression(first) ? first : undefined;
    const handler = handlerOf(call, kind, options);
    if (!handler) continue;
    const declaration = call.getFirstAncestorByKind(SyntaxKind.VariableDeclaration);
    const names = contextNames(handler);
    sites.push({
      kind,
      name: kind === 'http' ? 'httpAction' : (declaration?.getName() ?? 'default'),
      access: (literalOption(options, 'access') as string | undefined) ?? 'authenticated',
      safeToRetry: literalOption(options, 'safeToRetry') === true,
      handler,
      dbExpressions: names.db,
      emailExpressions: names.email,
    });
  }
  return sites;
}
