// bench/import (issue 23): `valet import` of an archive of 4 M small documents (BENCH_DOCS to
// change it) into a fresh SQLite file, against a baseline measured in the same run and
// interleaved with it (A B A B …): a Node process that only gunzips and parses every line of the
// same archive, which is the floor any import pays. Target: peak RSS ≤ 300 MB (the whole archive
// is never held); time is printed with its ratio to the baseline.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { createGzip } from 'node:zlib';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { createBenchApp, ROOT } from './_apps.js';
import { formatRow, machine, runOnce, summarise } from './_measure.js';

const VALET = join(ROOT, 'bin', 'valet.js');
const WORK = join(ROOT, 'bench', '.work', 'import');
const DOCS = Number(process.env.BENCH_DOCS ?? 4_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const TARGET_RSS_MB = 300;

console.log(
  `bench/import on ${machine()}, load average ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
rmSync(WORK, { recursive: true, force: true });
mkdirSync(WORK, { recursive: true });
const app = createBenchApp(join(WORK, 'app'), 'bench-import', {
  'schema.ts': `import { defineSchema, defineTable, v } from 'valet/server';
export default defineSchema({
  users: defineTable({ email: v.string(), name: v.string(), age: v.number() }).index('by_email', ['email']),
});
`,
});

// The archive, written as a stream: 4 M documents as `valet export` writes them.
const archive = join(WORK, 'archive.jsonl.gz');
const gzip = createGzip();
const file = createWriteStream(archive);
gzip.pipe(file);
const write = async (line) => {
  if (!gzip.write(`${line}\n`)) await once(gzip, 'drain');
};
await write(
  JSON.stringify({
    format: 'valet-export',
    version: 1,
    exportedAt: new Date().toISOString(),
    source: 'sqlite',
    systemTables: false,
  }),
);
for (let i = 0; i < DOCS; i++) {
  await write(
    JSON.stringify({
      table: 'users',
      _id: `u${i.toString(36).padStart(8, '0')}`,
      _creationTime: 1_700_000_000_000 + i,
      doc: { email: `user${i}@example.com`, name: `User ${i}`, age: i % 90 },
    }),
  );
}
await write(JSON.stringify({ end: true, documents: DOCS, systemRows: 0 }));
gzip.end();
await once(file, 'close');
console.log(`archive: ${DOCS} documents\n`);

const parseOnly = join(WORK, 'parse-only.mjs');
writeFileSync(
  parseOnly,
  `import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
let count = 0;
for await (const line of createInterface({ input: createReadStream(process.argv[2]).pipe(createGunzip()), crlfDelay: Infinity })) {
  if (line) { JSON.parse(line); count++; }
}
console.log(count);
`,
);

const importRuns = [];
const baselineRuns = [];
for (let i = 0; i < RUNS; i++) {
  const target = join(WORK, `target-${i}.db`);
  importRuns.push(runOnce(process.execPath, [VALET, 'import', archive, '--database', target], { cwd: app }));
  rmSync(target, { force: true });
  rmSync(`${target}-wal`, { force: true });
  rmSync(`${target}-shm`, { force: true });
  baselineRuns.push(runOnce(process.execPath, [parseOnly, archive], { cwd: app }));
}
const imported = summarise(importRuns);
const baseline = summarise(baselineRuns);
console.log(formatRow(`valet import (${DOCS} docs, SQLite)`, imported));
console.log(formatRow('baseline: gunzip + JSON.parse', baseline));
console.log(`import / baseline time: ${(imported.medianMs / baseline.medianMs).toFixed(2)}×`);
console.log(
  `load average after: ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);

console.log('\nTargets');
const rss = imported.peakRssMb;
console.log(
  `  peak RSS ≤ ${TARGET_RSS_MB} MB: ${rss === null ? 'n/a (no /usr/bin/time)' : `${rss.toFixed(0)} MB — ${rss <= TARGET_RSS_MB ? 'met' : 'MISSED'}`}`,
);
if (!process.env.BENCH_KEEP) rmSync(WORK, { recursive: true, force: true });
