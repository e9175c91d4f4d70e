// Syntax helpers shared by the rules: finding fetch calls, database calls and transactions
// inside one handler.
import type { FunctionSite } from '../function-sites.js';
import type { SyntaxNode, SyntaxTree } from '../syntax-tree.js';
import { isFunction, memberName, unwrap } from '../syntax-tree.js';

const FETCH_CALLEES = new Set(['fetch', 'globalThis.fetch', 'window.fetch', 'self.fetch']);
const ITERATING_METHODS = new Set(['map', 'forEach', 'flatMap', 'filter', 'reduce']);
const LOOPS = new Set(['ForStatement', 'ForOfStatement', 'ForInStatement', 'WhileStatement', 'DoWhileStatement']);

export function calls(tree: SyntaxTree, node: SyntaxNode): SyntaxNode[] {
  return tree.descendants(node, 'CallExpression');
}

export function fetchCalls(tree: SyntaxTree, node: SyntaxNode): SyntaxNode[] {
  return calls(tree, node).filter((call) => FETCH_CALLEES.has(tree.textOf(call.callee)));
}

/** `<object>.<method>(...)` calls under `within` whose object's text is one of `objects`. */
function methodCalls(
  tree: SyntaxTree,
  within: SyntaxNode,
  methods: readonly string[],
  objects: ReadonlySet<string>,
): SyntaxNode[] {
  return calls(tree, within).filter((call) => {
    const name = memberName(call.callee);
    return name !== null && methods.includes(name) && objects.has(tree.textOf(unwrap(call.callee.object)!));
  });
}

/** Calls `<db>.<method>(...)` where `<db>` is how this handler names the database. */
export function databaseCalls(
  site: FunctionSite,
  methods: readonly string[],
  within: SyntaxNode = site.handler,
): SyntaxNode[] {
  return methodCalls(site.tree, within, methods, site.dbExpressions);
}

export interface TransactionScope {
  call: SyntaxNode;
  callback: SyntaxNode;
  /** The name the callback gives its transaction, e.g. `tx`. */
  txName: string | undefined;
}

export function transactions(site: FunctionSite): TransactionScope[] {
  return databaseCalls(site, ['transaction']).flatMap((call) => {
    const callback = unwrap(call.arguments[0]);
    if (!callback || !isFunction(callback)) return [];
    const parameter: SyntaxNode | undefined = callback.params[0];
    return [{ call, callback, txName: parameter?.type === 'Identifier' ? parameter.name : undefined }];
  });
}

/** Calls on the transaction object, `tx.insert(...)`, inside one transaction callback. */
export function transactionCalls(tree: SyntaxTree, scope: TransactionScope, methods: readonly string[]): SyntaxNode[] {
  if (!scope.txName) return [];
  return methodCalls(tree, scope.callback, methods, new Set([scope.txName]));
}

export function isWithin(node: SyntaxNode, container: SyntaxNode): boolean {
  return node.start >= container.start && node.end <= container.end;
}

/** True when `node` runs more than once per handler call: in a loop, or in a map/forEach callback. */
export function isRepeated(tree: SyntaxTree, node: SyntaxNode, handler: SyntaxNode): boolean {
  for (let current = tree.parentOf(node); current && current !== handler; current = tree.parentOf(current)) {
    if (LOOPS.has(current.type)) return true;
    const parent = tree.parentOf(current);
    if (isFunction(current) && parent?.type === 'CallExpression') {
      const name = memberName(parent.callee);
      if (name !== null && ITERATING_METHODS.has(name)) return true;
    }
  }
  return false;
}
