// `valet export`: every document (and optionally stored files and the system tables) into one archive; the work is
// in ops/export-data.ts.
import type { Command } from 'commander';
import kleur from 'kleur';
import { findAppDir } from '../../project/app-dir.js';

export function registerExport(program: Command): void {
  program
    .command('export')
    .description("write every document of the app's database to one archive (JSONL; gzip when the name ends in .gz)")
    .option('--out <file>', 'the archive to write (default: standard output)')
    .option('--include-system', 'also the invocation log, outbox, scheduled work, cron history and sync clients')
    .option('--include-files', 'also every stored file (ctx.storage), bytes and all')
    .addHelpText(
      'after',
      `
The archive reads back with valet import on either backend: SQLite to PostgreSQL and back.

Examples:
  $ valet export --out backup.jsonl.gz
  $ valet export --include-system --include-files --out everything.jsonl.gz
  $ VALET_DATABASE_URL=postgres://… valet export --out prod.jsonl.gz`,
    )
    .action(async (flags: { out?: string; includeSystem?: boolean; includeFiles?: boolean }) => {
      const { exportData } = await import('../../ops/export-data.js');
      const summary = await exportData(findAppDir(), {
        out: flags.out,
        systemTables: flags.includeSystem,
        files: flags.includeFiles,
      });
      const tables = Object.entries(summary.tables)
        .map(([table, count]) => `${table} ${count}`)
        .join(', ');
      process.stderr.write(
        `${kleur.green('✔')} exported ${summary.documents} document${summary.documents === 1 ? '' : 's'}${tables ? ` (${tables})` : ''}${flags.includeFiles ? `, ${summary.files} file${summary.files === 1 ? '' : 's'}` : ''}${flags.includeSystem ? ` and ${summary.systemRows} system rows` : ''}${flags.out ? ` to ${flags.out}` : ''}\n`,
      );
    });
}
