// `valet check`: the CI gate in one command (generated files current, type-check, static rules);
// the work is in src/check.
import type { Command } from 'commander';
import kleur from 'kleur';
import { findAppDir } from '../../project/app-dir.js';
import { UserError } from '../../errors/user-error.js';
import { codeFrame } from '../../project/code-frame.js';

export function registerCheck(program: Command): void {
  program
    .command('check')
    .description("CI in one command: generated files current, TypeScript type-check, Valet's static rules")
    .option('--json', 'print the findings as JSON on stdout')
    .option('--no-typecheck', 'skip the TypeScript type-check')
    .addHelpText(
      'after',
      `
Rules: fetch-in-query-or-mutation, fetch-in-transaction, writes-outside-transaction,
enqueue-without-delivery-key, insert-in-retryable-action, public-action-calls-third-party (warning).
Silence one finding with a comment on the line above it:  // valet-ignore-next-line <rule>

Examples:
  $ valet check
  $ valet check --json | jq '.findings[] | .rule'`,
    )
    .action(async (flags: { json?: boolean; typecheck: boolean }) => {
      const appDir = findAppDir();
      const started = performance.now();
      // tsc first, in its own process, before loading the parser and the bundler this one needs.
      const typecheckRun = flags.typecheck
        ? (await import('../../check/typecheck.js')).typecheckApp(appDir)
        : undefined;
      const { runCheck } = await import('../../check/index.js');
      const report = await runCheck(appDir, { typecheck: flags.typecheck, typecheckRun });
      const ms = Math.round(performance.now() - started);

      if (flags.json) {
        process.stdout.write(
          `${JSON.stringify({ ok: report.errorCount === 0, errors: report.errorCount, warnings: report.warningCount, findings: report.findings }, null, 2)}\n`,
        );
      } else {
        for (const f of report.findings) {
          const severity = f.severity === 'error' ? kleur.red('error') : kleur.yellow('warning');
          process.stderr.write(
            `${kleur.bold(`${f.file}:${f.line}:${f.column}`)} ${severity} ${kleur.cyan(f.rule)} ${f.message}\n`,
          );
          if (!f.rule.startsWith('codegen-stale')) {
            const frame = codeFrame(appDir, f.file, f.line, f.column);
            if (frame) process.stderr.write(`${kleur.dim(frame)}\n`);
          }
          if (f.fix) process.stderr.write(`  ${kleur.green('fix:')} ${f.fix}\n`);
          process.stderr.write('\n');
        }
        const compiler = report.compiler?.version ? `, TypeScript ${report.compiler.version}` : '';
        const counts = [plural(report.errorCount, 'error'), plural(report.warningCount, 'warning')].join(', ');
        const mark = report.errorCount === 0 ? kleur.green('✔') : kleur.red('✖');
        process.stderr.write(`${mark} ${counts} (checked ${report.ran.join(', ')}${compiler} in ${ms} ms)\n`);
      }
      if (report.errorCount > 0) {
        throw new UserError(`valet check failed: ${plural(report.errorCount, 'error')}`);
      }
    });
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
