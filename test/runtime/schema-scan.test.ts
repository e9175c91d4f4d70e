// A start reads every stored document against the schema only when the schema changed since the
// data was last validated (every write is checked against the schema in force, so unchanged means
// still valid): a restart of a large database does not scan it. A changed schema still does.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { buildAndLoad } from '../../src/bundler/evaluate.js';
import { runCodegen } from '../../src/codegen/index.js';
import { createEngine } from '../../src/runtime/engine.js';
import { removeTempDirs } from '../helpers/apps.js';
import { engineFor } from '../helpers/engine.js';

afterAll(removeTempDirs);

it('scans the stored documents at start only when the schema changed since they were validated', async () => {
  const { app, engine, value } = await engineFor('engine-app');
  await value('mutation', 'bank:open', { owner: 'ada', balance: 10 });
  // A document no write through Valet would store (an operator's raw SQL, say).
  await engine.connections.autoCommit.sql.run(
    "INSERT INTO _valet_documents (id, tbl, creation_time, doc) VALUES ('raw1', 'accounts', 1, '{\"owner\":\"bob\"}')",
  );
  await engine.close();
  const database = join(app, '.valet', 'valet.db');
  const start = async () => createEngine({ modules: await buildAndLoad(app), database, env: {}, log: () => undefined });

  // The same schema: the data was validated against it, so no scan (and the raw row goes unread).
  const again = await start();
  await again.close();

  // Another schema: every document is read against it, and the one that does not match is named.
  const schemaFile = join(app, 'valet', 'schema.ts');
  writeFileSync(
    schemaFile,
    `import { defineSchema, defineTable, v } from './_generated/valet/api';\n\nexport default defineSchema({\n  accounts: defineTable({ owner: v.string(), balance: v.number(), note: v.optional(v.string()) }).index('by_owner', ['owner']),\n}, { strictTableNameTypes: false });\n`,
  );
  runCodegen(app);
  await expect(start()).rejects.toThrow(
    /table accounts: 1 document do not match, e\.g\. raw1 \(document\.balance: missing required field/,
  );
});
