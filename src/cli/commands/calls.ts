// `valet calls`: every function call of every kind (the activity log), listed with filters, and
// one call in full: its lines, its error with the mapped stack, and the tree of what it caused.
import type { Command } from 'commander';
import kleur from 'kleur';
import { findAppDir } from '../../project/app-dir.js';
import { UsageError } from '../errors.js';

const SINCE = /^(\d+)(s|m|h|d)$/;
const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `15m`, `2h`, `1d` ago, or an ISO date / ms since the epoch as given. */
function sinceParam(value: string, now: number): string {
  const relative = SINCE.exec(value);
  if (relative) return String(now - Number(relative[1]) * UNIT_MS[relative[2]!]!);
  if (/^\d+$/.test(value) || Number.isFinite(Date.parse(value))) return value;
  throw new UsageError(`--since: expected 15m, 2h, 1d, an ISO date or ms since the epoch, got "${value}"`);
}

interface ListFlags {
  kind?: string;
  function?: string;
  outcome?: string;
  code?: string;
  caller?: string;
  since?: string;
  trace?: string;
  limit: string;
  json?: boolean;
}

export function registerCalls(program: Command): void {
  const command = program
    .command('calls')
    .description('every function call (all kinds) with outcome, duration and its parent (alone: ls)')
    .addHelpText(
      'after',
      '\nExamples:\n  $ valet calls\n  $ valet calls ls --outcome error --since 1h\n  $ valet calls show 3k9x…',
    );
  command
    .command('ls', { isDefault: true })
    .description('list recent calls, newest first')
    .option('--kind <kind>', 'only this kind: query, mutation, action, http, cron')
    .option('--function <path>', 'only this function (module:name), route (GET /http/…) or cron job')
    .option('--outcome <outcome>', 'only this outcome: ok, error, running')
    .option('--code <code>', 'only failures with this error code')
    .option('--caller <caller>', 'anonymous, user, user:<id>, system, system:cron …')
    .option('--since <when>', 'only calls started since: 15m, 2h, 1d, or a date')
    .option('--trace <id>', 'only the calls of one trace (its first call’s id)')
    .option('--limit <n>', 'how many', '30')
    .option('--json', 'print as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  $ valet calls ls --outcome error --since 1h\n  $ valet calls ls --kind action --caller user:ada --json\n  $ valet calls ls --trace 3k9x…',
    )
    .action(async (flags: ListFlags) => {
      const params = new URLSearchParams();
      const set = (name: string, value: string | undefined) => value !== undefined && params.set(name, value);
      set('kind', flags.kind);
      set('function', flags.function);
      set('outcome', flags.outcome);
      set('code', flags.code);
      set('caller', flags.caller);
      set('trace', flags.trace);
      set('limit', flags.limit);
      if (flags.since !== undefined) params.set('since', sinceParam(flags.since, Date.now()));
      const { listCalls } = await import('../../ops/read-calls.js');
      const { callLine } = await import('../format-calls.js');
      const { value: calls, via } = await listCalls(findAppDir(), params);
      if (flags.json) return void process.stdout.write(`${JSON.stringify(calls, null, 2)}\n`);
      if (calls.length === 0) {
        process.stderr.write(
          via === 'server'
            ? 'No calls match (the server records every call; valet dev keeps the latest in memory).\n'
            : 'No calls recorded in the database: no server is running (valet dev keeps its calls in memory, valet start stores them), or none match.\n',
        );
        return;
      }
      for (const call of calls) process.stdout.write(`${callLine(call)}\n`);
    });
  command
    .command('show')
    .description('one call in full: caller, parent, log lines, error with stack, and the tree of its trace')
    .argument('<id>', 'the call id (from valet calls ls, valet logs, or the dashboard)')
    .option('--json', 'print as JSON ({ call, trace })')
    .addHelpText('after', '\nExamples:\n  $ valet calls show 3k9x…\n  $ valet calls show 3k9x… --json')
    .action(async (id: string, flags: { json?: boolean }) => {
      const { showCall } = await import('../../ops/read-calls.js');
      const { callLine, traceTree } = await import('../format-calls.js');
      const { value } = await showCall(findAppDir(), id);
      if (flags.json) return void process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
      const { call, trace } = value;
      const out: string[] = [callLine(call), ''];
      out.push(`parent:     ${call.parent ?? '—'}`, `trace:      ${call.root}`);
      if (call.invocation) out.push(`invocation: ${call.invocation} (valet invocations show ${call.invocation})`);
      if (call.instance) out.push(`instance:   ${call.instance}`);
      if (call.logs.length > 0) {
        out.push('', kleur.bold('log lines'));
        for (const line of call.logs)
          out.push(`  ${new Date(line.time).toISOString()} [${line.level}] ${line.message}`);
      }
      if (call.error) {
        out.push('', kleur.bold('error'), kleur.red(`  ${call.error.code}: ${call.error.message}`));
        if (call.error.stack) out.push(...call.error.stack.split('\n').map((line) => kleur.dim(`  ${line}`)));
      }
      out.push('', kleur.bold('trace'), ...traceTree(trace, call.id).map((line) => `  ${line}`));
      process.stdout.write(`${out.join('\n')}\n`);
    });
}
