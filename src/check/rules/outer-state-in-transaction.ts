// A transaction's callback is run again when PostgreSQL aborts it on a serialization conflict
// (connections/postgres.ts), like a mutation's handler: whatever it does to state outside itself
// happens once per attempt. Its database work is rolled back in between; a counter or an array
// declared outside it is not.
import type { SyntaxNode, SyntaxTree } from '../syntax-tree.js';
import { memberName, unwrap } from '../syntax-tree.js';
import type { Rule, RuleHit } from './rule.js';
import { transactions } from './syntax.js';

const MUTATING_METHODS = new Set(['push', 'unshift', 'splice', 'pop', 'shift', 'set', 'add', 'delete', 'clear']);
const DECLARATIONS = new Set(['VariableDeclarator', 'FunctionDeclaration', 'ClassDeclaration']);

/** Identifiers a binding pattern declares: `x`, `{ a, b: c }`, `[d, ...e]`, `f = 1`. */
function boundNames(pattern: SyntaxNode | null | undefined, into: Set<string>): void {
  if (!pattern) return;
  if (pattern.type === 'Identifier') into.add(pattern.name);
  else if (pattern.type === 'ObjectPattern')
    for (const property of pattern.properties)
      boundNames(property.type === 'RestElement' ? property.argument : property.value, into);
  else if (pattern.type === 'ArrayPattern') for (const element of pattern.elements) boundNames(element, into);
  else if (pattern.type === 'AssignmentPattern') boundNames(pattern.left, into);
  else if (pattern.type === 'RestElement') boundNames(pattern.argument, into);
}

/** The names the callback declares itself (parameters, variables, functions): its own state. */
function ownNames(tree: SyntaxTree, callback: SyntaxNode): Set<string> {
  const names = new Set<string>();
  for (const parameter of callback.params) boundNames(parameter, names);
  for (const node of tree.descendants(callback)) {
    if (node.type === 'VariableDeclarator') boundNames(node.id, names);
    else if (DECLARATIONS.has(node.type) && node.id?.type === 'Identifier') names.add(node.id.name);
    else if (node.type === 'ArrowFunctionExpression' || node.type === 'FunctionExpression')
      for (const parameter of node.params) boundNames(parameter, names);
    else if (node.type === 'CatchClause') boundNames(node.param, names);
  }
  return names;
}

/** `x` in `x = …`, `x.y += …`, `x++`, `x.push(…)`: the variable whose state changes. */
function rootName(target: SyntaxNode | undefined): string | null {
  let node = unwrap(target);
  while (node?.type === 'MemberExpression') node = unwrap(node.object);
  return node?.type === 'Identifier' ? node.name : null;
}

export const outerStateInTransaction: Rule = {
  id: 'outer-state-in-transaction',
  severity: 'warning',
  fix: 'return what the transaction computed (const total = await ctx.db.transaction(async (tx) => …)) and update outer state after it',
  check(site) {
    return transactions(site).flatMap((scope) => {
      const own = ownNames(site.tree, scope.callback);
      const hits: RuleHit[] = [];
      const report = (node: SyntaxNode, name: string) =>
        hits.push({
          node,
          message: `${site.name}: ctx.db.transaction's callback changes \`${name}\`, declared outside it; on PostgreSQL the callback runs again after a write conflict, so this would happen once per attempt`,
        });
      for (const node of site.tree.descendants(scope.callback)) {
        if (node.type === 'AssignmentExpression') {
          const name = rootName(node.left);
          if (name && !own.has(name)) report(node, name);
        } else if (node.type === 'UpdateExpression') {
          const name = rootName(node.argument);
          if (name && !own.has(name)) report(node, name);
        } else if (node.type === 'CallExpression') {
          const method = memberName(node.callee);
          if (method === null || !MUTATING_METHODS.has(method)) continue;
          const name = rootName(node.callee.object);
          if (name && !own.has(name) && name !== scope.txName && name !== 'ctx') report(node, name);
        }
      }
      return hits;
    });
  },
};
