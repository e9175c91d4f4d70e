// Cron job names in valet/crons.ts, checked before anything runs: the same rule the server
// applies when the module loads (server/cron.ts), and no name twice.
import type { SourceFile } from 'ts-morph';
import { cronJobNameProblem } from '../server/cron.js';
import type { Finding } from './finding.js';
import { Node, SyntaxKind } from './ts-morph.js';

const SCHEDULERS = new Set(['cron', 'interval', 'hourly', 'daily', 'weekly', 'monthly']);

export function checkCronNames(source: SourceFile, file: string): Finding[] {
  const findings: Finding[] = [];
  const seen = new Map<string, number>();
  // A chain nests its calls last-first: visit them in source order.
  const calls = source
    .getDescendantsOfKind(SyntaxKind.CallExpression)
    .sort((a, b) => (a.getExpression() as Node).getEnd() - (b.getExpression() as Node).getEnd());
  for (const call of calls) {
    const callee = call.getExpression();
    if (!Node.isPropertyAccessExpression(callee) || !SCHEDULERS.has(callee.getName())) continue;
    const first = call.getArguments()[0];
    if (!first || !(Node.isStringLiteral(first) || Node.isNoSubstitutionTemplateLiteral(first))) continue;
    const name = first.getLiteralValue();
    const { line, column } = source.getLineAndColumnAtPos(first.getStart());
    const problem =
      cronJobNameProblem(name) ??
      (seen.has(name) ? `"${name}" is already the name of the job on line ${seen.get(name)}` : null);
    if (problem) {
      findings.push({
        file,
        line,
        column,
        rule: 'cron-job-name',
        severity: 'error',
        message: `cron job ${JSON.stringify(name)}: ${problem} (valet dev and valet start refuse it)`,
        fix: 'give each job a unique name of 1 to 100 characters',
      });
    }
    if (!seen.has(name)) seen.set(name, line);
  }
  return findings;
}
