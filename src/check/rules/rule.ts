// The shape of a static rule: what it matches in a module's syntax tree and what it says, one file
// per rule.
import type { Severity } from '../finding.js';
import type { FunctionSite } from '../function-sites.js';
import type { SyntaxNode } from '../syntax-tree.js';

export interface RuleHit {
  node: SyntaxNode;
  message: string;
}

export interface Rule {
  /** Stable id, printed with each finding and accepted by `// valet-ignore <id>`. */
  id: string;
  severity: Severity;
  /** How to fix it, printed under each finding. */
  fix: string;
  check(site: FunctionSite): RuleHit[];
}
