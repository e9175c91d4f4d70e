// `valet import`: an archive from `valet export` into the app's database; the work is in
// ops/import.
import type { Command } from 'commander';
import kleur from 'kleur';
import { findAppDir } from '../../project/app-dir.js';
import { UsageError } from '../errors.js';

export function registerImport(program: Command): void {
  program
    .command('import')
    .description("load an archive from valet export into the app's database, checked against valet/schema.ts first")
    .argument('<file>', 'the archive (JSONL, or gzip-compressed JSONL)')
    .option('--replace', 'delete every document first (and the system rows the archive carries)')
    .option('--append', 'add to the documents already there (an _id already present is refused)')
    .addHelpText(
      'after',
      `
Without --replace or --append the database must hold no documents. The archive is streamed into
one transaction: nothing is written unless every line passes (documents against the schema,
system rows against their columns); the first that does not is named with its line.

Examples:
  $ valet import backup.jsonl.gz
  $ VALET_DATABASE_URL=postgres://… valet import dev-data.jsonl --replace`,
    )
    .action(async (file: string, flags: { replace?: boolean; append?: boolean }) => {
      if (flags.replace && flags.append) throw new UsageError('give --replace or --append, not both');
      const { importData } = await import('../../ops/import/import-data.js');
      const summary = await importData(findAppDir(), file, {
        mode: flags.replace ? 'replace' : flags.append ? 'append' : 'empty',
      });
      const tables = Object.entries(summary.tables)
        .map(([table, count]) => `${table} ${count}`)
        .join(', ');
      process.stderr.write(
        `${kleur.green('✔')} imported ${summary.documents} document${summary.documents === 1 ? '' : 's'}${tables ? ` (${tables})` : ''}${summary.files ? `, ${summary.files} file${summary.files === 1 ? '' : 's'}` : ''}${summary.systemRows ? ` and ${summary.systemRows} system rows` : ''}\n`,
      );
    });
}
