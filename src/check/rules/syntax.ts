// Syntax helpers shared by the rules: finding fetch calls, database calls and transactions
// inside one handler.
import { Node, SyntaxKind } from '../ts-morph.js';
import type { CallExpression } from 'ts-morph';
import type { FunctionSite } from '../function-sites.js';

const FETCH_CALLEES = new Set(['fetch', 'globalThis.fetch', 'window.fetch', 'self.fetch']);
const ITERATING_METHODS = new Set(['map', 'forEach', 'flatMap', 'filter', 'reduce']);

export function calls(node: Node): CallExpression[] {
  return node.getDescendantsOfKind(SyntaxKind.CallExpression);
}

export function fetchCalls(node: Node): CallExpression[] {
  return calls(node).filter((call) => FETCH_CALLEES.has(call.getExpression().getText()));
}

/** Calls `<db>.<method>(...)` where `<db>` is how this handler names the database. */
export function databaseCalls(
  site: FunctionSite,
  methods: readonly string[],
  within: Node = site.handler,
): CallExpression[] {
  return calls(within).filter((call) => {
    const callee = call.getExpression();
    return (
      Node.isPropertyAccessExpression(callee) &&
      methods.includes(callee.getName()) &&
      site.dbExpressions.has(callee.getExpression().getText())
    );
  });
}

export interface TransactionScope {
  call: CallExpression;
  callback: Node;
  /** The name the callback gives its transaction, e.g. `tx`. */
  txName: string | undefined;
}

export function transactions(site: FunctionSite): TransactionScope[] {
  return databaseCalls(site, ['transaction']).flatMap((call) => {
    const callback = call.getArguments()[0];
    if (!callback || !(Node.isArrowFunction(callback) || Node.isFunctionExpression(callback))) return [];
    const parameter = callback.getParameters()[0]?.getNameNode();
    return [{ call, callback, txName: Node.isIdentifier(parameter) ? parameter.getText() : undefined }];
  });
}

/** Calls on the transaction object, `tx.insert(...)`, inside one transaction callback. */
export function transactionCalls(scope: TransactionScope, methods: readonly string[]): CallExpression[] {
  if (!scope.txName) return [];
  return calls(scope.callback).filter((call) => {
    const callee = call.getExpression();
    return (
      Node.isPropertyAccessExpression(callee) &&
      methods.includes(callee.getName()) &&
      callee.getExpression().getText() === scope.txName
    );
  });
}

export function isWithin(node: Node, container: Node): boolean {
  return node.getPos() >= container.getPos() && node.getEnd() <= container.getEnd();
}

/** True when `node` runs more than once per handler call: in a loop, or in a map/forEach callback. */
export function isRepeated(node: Node, handler: Node): boolean {
  for (let current = node.getParent(); current && current !== handler; current = current.getParent()) {
    if (
      Node.isForStatement(current) ||
      Node.isForOfStatement(current) ||
      Node.isForInStatement(current) ||
      Node.isWhileStatement(current) ||
      Node.isDoStatement(current)
    ) {
      return true;
    }
    if (
      (Node.isArrowFunction(current) || Node.isFunctionExpression(current)) &&
      Node.isCallExpression(current.getParent())
    ) {
      const callee = (current.getParent() as CallExpression).getExpression();
      if (Node.isPropertyAccessExpression(callee) && ITERATING_METHODS.has(callee.getName())) return true;
    }
  }
  return false;
}
