// A transaction's callback is run again when PostgreSQL aborts it on a serialization conflict
// (connections/postgres.ts), like a mutation's handler: whatever it does to state outside itself
// happens once per attempt. Its database work is rolled back in between; a counter or an array
// declared outside it is not.
import type { Node } from 'ts-morph';
import { Node as N, SyntaxKind } from '../ts-morph.js';
import type { Rule, RuleHit } from './rule.js';
import { transactions } from './syntax.js';

const MUTATING_METHODS = new Set(['push', 'unshift', 'splice', 'pop', 'shift', 'set', 'add', 'delete', 'clear']);
const ASSIGNMENTS = new Set([
  SyntaxKind.EqualsToken,
  SyntaxKind.PlusEqualsToken,
  SyntaxKind.MinusEqualsToken,
  SyntaxKind.AsteriskEqualsToken,
  SyntaxKind.SlashEqualsToken,
  SyntaxKind.BarBarEqualsToken,
  SyntaxKind.AmpersandAmpersandEqualsToken,
  SyntaxKind.QuestionQuestionEqualsToken,
]);

/** The names the callback declares itself (parameters, variables, functions): its own state. */
function ownNames(callback: Node): Set<string> {
  const names = new Set<string>();
  for (const node of callback.getDescendants()) {
    if (
      (N.isParameterDeclaration(node) || N.isVariableDeclaration(node) || N.isBindingElement(node)) &&
      N.isIdentifier(node.getNameNode())
    )
      names.add(node.getNameNode().getText());
    if (N.isFunctionDeclaration(node) && node.getName()) names.add(node.getName()!);
  }
  return names;
}

/** `x` in `x = …`, `x.y += …`, `x++`, `x.push(…)`: the variable whose state changes. */
function rootName(target: Node): string | null {
  let node = target;
  while (N.isPropertyAccessExpression(node) || N.isElementAccessExpression(node)) node = node.getExpression();
  return N.isIdentifier(node) ? node.getText() : null;
}

export const outerStateInTransaction: Rule = {
  id: 'outer-state-in-transaction',
  severity: 'warning',
  fix: 'return what the transaction computed (const total = await ctx.db.transaction(async (tx) => …)) and update outer state after it',
  check(site) {
    return transactions(site).flatMap((scope) => {
      const own = ownNames(scope.callback);
      const hits: RuleHit[] = [];
      const report = (node: Node, name: string) =>
        hits.push({
          node,
          message: `${site.name}: ctx.db.transaction's callback changes \`${name}\`, declared outside it; on PostgreSQL the callback runs again after a write conflict, so this would happen once per attempt`,
        });
      for (const node of scope.callback.getDescendants()) {
        if (N.isBinaryExpression(node) && ASSIGNMENTS.has(node.getOperatorToken().getKind())) {
          const name = rootName(node.getLeft());
          if (name && !own.has(name)) report(node, name);
        } else if (
          (N.isPrefixUnaryExpression(node) || N.isPostfixUnaryExpression(node)) &&
          [SyntaxKind.PlusPlusToken, SyntaxKind.MinusMinusToken].includes(node.getOperatorToken())
        ) {
          const name = rootName(node.getOperand());
          if (name && !own.has(name)) report(node, name);
        } else if (N.isCallExpression(node)) {
          const callee = node.getExpression();
          if (!N.isPropertyAccessExpression(callee) || !MUTATING_METHODS.has(callee.getName())) continue;
          const name = rootName(callee.getExpression());
          if (name && !own.has(name) && name !== scope.txName && name !== 'ctx') report(node, name);
        }
      }
      return hits;
    });
  },
};
