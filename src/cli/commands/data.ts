// `valet data`: the tables and their counts, or one table's documents; reads through
// storage/browse.ts.
import type { Command } from 'commander';
import { findAppDir } from '../../project/app-dir.js';
import { UsageError } from '../errors.js';
import { parseLimit } from '../options.js';

export function registerData(program: Command): void {
  program
    .command('data')
    .description('browse documents: the tables with their counts, or the documents of one table')
    .argument('[table]', 'the table to list')
    .option('--limit <n>', 'how many documents', '20')
    .option('--order <order>', 'asc (oldest first) or desc', 'desc')
    .option('--json', 'print as JSON')
    .addHelpText('after', '\nExamples:\n  $ valet data\n  $ valet data users --limit 5 --json')
    .action(async (table: string | undefined, flags: { limit: string; order: string; json?: boolean }) => {
      const limit = parseLimit(flags.limit);
      if (flags.order !== 'asc' && flags.order !== 'desc')
        throw new UsageError(`--order must be asc or desc, got "${flags.order}"`);
      const { listDocuments, listTables } = await import('../../storage/browse.js');
      const { openAppDatabase } = await import('../../ops/open-app-database.js');
      const db = await openAppDatabase(findAppDir());
      try {
        if (!table) {
          const tables = await listTables(db.sql);
          if (flags.json) return void process.stdout.write(`${JSON.stringify(tables, null, 2)}\n`);
          if (tables.length === 0) return void process.stderr.write('No documents yet.\n');
          for (const t of tables) process.stdout.write(`${t.table.padEnd(24)} ${t.documents}\n`);
          return;
        }
        const { requireKnownTable } = await import('../../ops/table-names.js');
        await requireKnownTable(findAppDir(), db.sql, table);
        // As the wire and `valet export` spell values: bytes as {"$bytes": base64}, never {}.
        const { encodeValue } = await import('../../protocol/values.js');
        const documents = (await listDocuments(db.sql, table, { limit, order: flags.order })).map(encodeValue);
        if (flags.json) return void process.stdout.write(`${JSON.stringify(documents, null, 2)}\n`);
        if (documents.length === 0) return void process.stderr.write(`No documents in ${table}.\n`);
        for (const doc of documents) process.stdout.write(`${JSON.stringify(doc)}\n`);
      } finally {
        await db.close();
      }
    });
}
