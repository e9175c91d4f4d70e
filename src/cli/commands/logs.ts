// `valet logs`: what functions printed with console.*, recent lines or followed live.
import type { Command } from 'commander';
import kleur from 'kleur';
import type { LogEntry } from '../../runtime/function-logs.js';
import { findAppDir } from '../../project/app-dir.js';
import { UsageError } from '../errors.js';
import { shortInvocationId } from '../../protocol/log-tag.js';

function printer(json: boolean) {
  return (entry: LogEntry) => {
    if (json) return void process.stdout.write(`${JSON.stringify(entry)}\n`);
    const level =
      entry.level === 'error'
        ? kleur.red('error')
        : entry.level === 'warn'
          ? kleur.yellow('warn ')
          : kleur.dim(entry.level.padEnd(5));
    // The entry that says how a call ended (after its lines): marked, so it reads apart from them.
    const message =
      entry.outcome === 'ok'
        ? kleur.green(`✓ ${entry.message}`)
        : entry.outcome === 'error'
          ? kleur.red(`✗ ${entry.message}`)
          : entry.message;
    process.stdout.write(
      `${kleur.dim(entry.time)} ${level} ${kleur.cyan(`[${entry.function} ${shortInvocationId(entry.invocation)}]`)} ${message}\n`,
    );
  };
}

export function registerLogs(program: Command): void {
  program
    .command('logs')
    .description("console output of the app's functions, tagged with function and invocation")
    .option('-f, --follow', 'keep printing new output as it happens')
    .option('--function <path>', 'only this function, e.g. users:create')
    .option('-n, --lines <n>', 'how many recent entries to print first', '50')
    .option('--json', 'one JSON object per line')
    .addHelpText(
      'after',
      '\nExamples:\n  $ valet logs --follow\n  $ valet logs --function actions:sendWelcomeEmail --json',
    )
    .action(async (flags: { follow?: boolean; function?: string; lines: string; json?: boolean }) => {
      const lines = Number(flags.lines);
      if (!Number.isInteger(lines) || lines < 0)
        throw new UsageError(`--lines: expected a non-negative integer, got "${flags.lines}"`);
      const { followLogs, readRecentLogs } = await import('../../ops/log-tail.js');
      const { logsPathOf } = await import('../../project/paths.js');
      const file = logsPathOf(findAppDir());
      const print = printer(Boolean(flags.json));
      const recent = readRecentLogs(file, lines, flags.function);
      recent.forEach(print);
      if (!flags.follow) {
        if (recent.length === 0 && !flags.json)
          process.stderr.write('No function output yet (it appears here once functions call console.*).\n');
        return;
      }
      const stop = followLogs(file, print, flags.function);
      await new Promise<void>((resolve) => {
        const done = () => {
          stop();
          resolve();
        };
        process.once('SIGINT', done);
        process.once('SIGTERM', done);
      });
    });
}
