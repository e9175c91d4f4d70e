// The shape of a static rule: what it matches in the TypeScript tree and what it says, one file
// per rule.
import type { Node } from 'ts-morph';
import type { Severity } from '../finding.js';
import type { FunctionSite } from '../function-sites.js';

export interface RuleHit {
  node: Node;
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
