// Valet's static rules over valet/, on oxc-parser's syntax tree. Syntax only: no type information
// is needed, so the TypeScript check runs beside it in another process.
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { AnalysisCache } from '../codegen/analysis-cache.js';
import { findModuleFiles } from '../codegen/find-modules.js';
import type { Finding } from './finding.js';
import { checkCronNames } from './cron-names.js';
import { findFunctionSites } from './function-sites.js';
import { RULES } from './rules/index.js';
import { SyntaxTree } from './syntax-tree.js';
import type { Rule } from './rules/rule.js';

const IGNORE_COMMENT = /\/\/\s*valet-ignore-next-line\b(.*)$/;

/** `// valet-ignore-next-line <rule>` (or with no rule: every rule) on the line before. */
export function isSuppressed(lines: string[], line: number, rule: string): boolean {
  const match = IGNORE_COMMENT.exec(lines[line - 2] ?? '');
  if (!match) return false;
  const named = match[1]!
    .trim()
    .split(/[\s,]+/)
    .filter(Boolean);
  return named.length === 0 || named.includes(rule);
}

/**
 * Every rule's findings over valet/. A module's findings depend on its text alone: with Valet's
 * own rules they are kept in .valet/ (codegen/analysis-cache.ts), and an unchanged module is not
 * parsed again.
 */
export function runStaticRules(appDir: string, rules: readonly Rule[] = RULES): Finding[] {
  const findings: Finding[] = [];
  const stored = rules === RULES ? AnalysisCache.for(appDir) : null;
  const files: string[] = [];
  for (const relative of findModuleFiles(join(appDir, 'valet'))) {
    const file = `valet/${relative}`;
    files.push(file);
    const text = readFileSync(join(appDir, file), 'utf8');
    let found = stored?.findings<Finding>(file, text);
    if (!found) {
      found = moduleFindings(relative, file, text, rules);
      stored?.setFindings(file, text, found);
    }
    findings.push(...found);
  }
  stored?.save(files);
  return findings;
}

function moduleFindings(relative: string, file: string, text: string, rules: readonly Rule[]): Finding[] {
  const findings: Finding[] = [];
  // A module that does not parse is codegen's finding, at its line.
  const tree = SyntaxTree.parse(file, text);
  if (!tree) return findings;
  const lines = text.split('\n');
  if (relative === 'crons.ts' || relative === 'crons.js')
    findings.push(...checkCronNames(tree, file).filter((f) => !isSuppressed(lines, f.line, f.rule)));
  for (const site of findFunctionSites(tree)) {
    for (const rule of rules) {
      for (const hit of rule.check(site)) {
        const { line, column } = tree.position(hit.node.start);
        if (isSuppressed(lines, line, rule.id)) continue;
        findings.push({
          file,
          line,
          column,
          rule: rule.id,
          severity: rule.severity,
          message: hit.message,
          fix: rule.fix,
        });
      }
    }
  }
  return findings;
}
