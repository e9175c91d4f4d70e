// Cron job names in valet/crons.ts, checked before anything runs: the same rule the server
// applies when the module loads (server/cron.ts), and no name twice.
import { cronJobNameProblem } from '../server/cron.js';
import type { Finding } from './finding.js';
import type { SyntaxTree } from './syntax-tree.js';
import { memberName, stringValue, unwrap } from './syntax-tree.js';

const SCHEDULERS = new Set(['cron', 'interval', 'hourly', 'daily', 'weekly', 'monthly']);

export function checkCronNames(tree: SyntaxTree, file: string): Finding[] {
  const findings: Finding[] = [];
  const seen = new Map<string, number>();
  // A chain nests its calls last-first: visit them in source order of their method names.
  const calls = tree.descendants(tree.program, 'CallExpression').sort((a, b) => a.callee.end - b.callee.end);
  for (const call of calls) {
    const method = memberName(call.callee);
    if (method === null || !SCHEDULERS.has(method)) continue;
    const first = unwrap(call.arguments[0]);
    const name = stringValue(first);
    if (name === null) continue;
    const { line, column } = tree.position(first!.start);
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
