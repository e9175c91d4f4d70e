// bench/files (issue 27): a 100 MB file (BENCH_FILE_MB to change it) uploaded to and downloaded
// from a real `valet start` (its own process, default flags) on SQLite (bytes in a folder), on
// PostgreSQL (bytes in the database) and with S3 (s3rver, an S3 emulator from npm, in this process:
// what it measures includes s3rver's own speed), with curl as the client. Baselines measured in the same
// run, interleaved (A B A B …): a raw node:http server (its own process) that streams the upload
// to disk and the download from disk, and curl reading the same file from disk (file://). Goal:
// Valet's throughput ≥ 70 % of the raw server's, each way, on each backend.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { createBenchApp, ROOT } from './_apps.js';
import { machine } from './_measure.js';
import { benchDatabase } from './_postgres.js';

const VALET = join(ROOT, 'bin', 'valet.js');
const WORK = join(ROOT, 'bench', '.work', 'files');
const MB = Number(process.env.BENCH_FILE_MB ?? 100);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
/** sqlite: bytes in a folder; postgres: in the database; s3: in s3rver (an S3 emulator, on SQLite). */
const BACKENDS = (process.env.BENCH_BACKENDS ?? 'sqlite,postgres,s3').split(',');
const GOAL = 0.7;
const BYTES = MB * 1_000_000;

const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const spread = (values) => `${Math.min(...values).toFixed(0)}–${Math.max(...values).toFixed(0)}`;

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const children = [];
function started(child, pattern) {
  children.push(child);
  return new Promise((resolve, reject) => {
    let text = '';
    child.stderr.on('data', (chunk) => {
      text += chunk;
      if (pattern.test(text)) resolve();
    });
    child.on('exit', (code) => reject(new Error(`exited ${code}: ${text}`)));
  });
}

/** curl, timed: MB/s of `bytes` moved; the answer goes to `out` (else nowhere). */
function curl(args, out = '/dev/null', bytes = BYTES) {
  const begin = process.hrtime.bigint();
  const result = spawnSync('curl', ['-sS', '--fail', '-o', out, ...args], { encoding: 'utf8' });
  const seconds = Number(process.hrtime.bigint() - begin) / 1e9;
  if (result.status !== 0) throw new Error(`curl ${args.join(' ')}: ${result.stderr}`);
  return bytes / 1e6 / seconds;
}

console.log(`bench/files on ${machine()}, load average ${load()}`);
rmSync(WORK, { recursive: true, force: true });
mkdirSync(WORK, { recursive: true });
const file = join(WORK, 'payload.bin');
writeFileSync(file, randomBytes(BYTES));
console.log(`payload: ${MB} MB of random bytes; ${ROUNDS} rounds each, interleaved\n`);

// The raw baseline: node:http streaming an upload to disk and a download from disk.
const rawScript = join(WORK, 'raw-server.mjs');
writeFileSync(
  rawScript,
  `import { createServer } from 'node:http';
import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
const stored = process.argv[3];
createServer(async (req, res) => {
  if (req.method === 'POST') {
    await pipeline(req, createWriteStream(stored));
    res.end('{}');
  } else {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    await pipeline(createReadStream(stored), res);
  }
}).listen(Number(process.argv[2]), '127.0.0.1', () => process.stderr.write('listening\\n'));
`,
);
const rawPort = await freePort();
await started(
  spawn(process.execPath, [rawScript, String(rawPort), join(WORK, 'raw-stored.bin')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  }),
  /listening/,
);
const raw = `http://127.0.0.1:${rawPort}`;

const app = createBenchApp(join(WORK, 'app'), 'bench-files', {
  'schema.ts': `import { defineSchema } from './_generated/valet/api';\nexport default defineSchema({});\n`,
  'files.ts': `import { defineMutation, defineQuery, v } from './_generated/valet/api';
export const uploadUrl = defineMutation({ access: 'public', handler: (ctx) => ctx.storage.generateUploadUrl() });
export const url = defineQuery({ args: { id: v.string() }, access: 'public', handler: (ctx, args) => ctx.storage.getUrl(args.id) });
`,
});
spawnSync(process.execPath, [VALET, 'codegen'], { cwd: app, stdio: 'ignore' });

/** A call on a connection of its own: a kept-alive one may be closed by the server while curl runs. */
function call(base, kind, path, args = {}) {
  const body = JSON.stringify({ path, args });
  return new Promise((resolve, reject) => {
    const req = request(
      `${base}/api/${kind}`,
      {
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let text = '';
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () =>
          res.statusCode === 200 ? resolve(JSON.parse(text).value) : reject(new Error(`${path}: ${text}`)),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * s3rver on loopback with a bucket, in a process of its own (curl runs synchronously in this one),
 * and the environment that points valet start at it.
 */
async function startS3rver() {
  const script = join(WORK, 's3rver.mjs');
  writeFileSync(
    script,
    `import S3rver from ${JSON.stringify(join(ROOT, 'node_modules', 's3rver', 'lib', 's3rver.js'))};
const server = new S3rver({ address: '127.0.0.1', port: Number(process.argv[2]), silent: true, directory: process.argv[3], configureBuckets: [{ name: 'bench' }] });
await server.run();
process.stderr.write('listening\\n');
`,
  );
  const port = await freePort();
  const child = spawn(process.execPath, [script, String(port), join(WORK, 's3rver')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  await started(child, /listening/);
  return {
    env: {
      VALET_FILES_S3_BUCKET: 'bench',
      VALET_FILES_S3_ENDPOINT: `http://127.0.0.1:${port}`,
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
    },
    close: async () => {
      child.kill('SIGTERM');
    },
  };
}

const summary = [];
try {
  for (const backend of BACKENDS) {
    const database = backend === 'postgres' ? await benchDatabase() : null;
    const s3 = backend === 's3' ? await startS3rver() : null;
    const port = await freePort();
    const server = spawn(
      process.execPath,
      [VALET, 'start', '--port', String(port), ...(database ? ['--database', database.url] : [])],
      {
        cwd: app,
        // The default limit is 100 MiB: a larger payload needs a larger one.
        env: {
          ...process.env,
          NO_COLOR: '1',
          VALET_MAX_UPLOAD_BYTES: String(Math.max(BYTES, 100 * 1024 * 1024)),
          ...(s3?.env ?? {}),
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    await started(server, /Valet serving/);
    const base = `http://127.0.0.1:${port}`;
    const times = { valetUp: [], rawUp: [], valetDown: [], rawDown: [], disk: [] };
    const upload = async () => {
      const uploadUrl = await call(base, 'mutation', 'files:uploadUrl');
      const out = join(WORK, 'answer.json');
      const rate = curl(
        ['-X', 'POST', '-H', 'content-type: application/octet-stream', '--data-binary', `@${file}`, uploadUrl],
        out,
      );
      return { rate, id: JSON.parse((await import('node:fs')).readFileSync(out, 'utf8')).storageId };
    };
    // One unmeasured round each: caches, the first connection.
    let { id } = await upload();
    curl(['-X', 'POST', '--data-binary', `@${file}`, raw]);
    for (let round = 0; round < ROUNDS; round++) {
      const valetFirst = round % 2 === 0;
      for (const side of valetFirst ? ['valet', 'raw'] : ['raw', 'valet']) {
        if (side === 'valet') {
          const result = await upload();
          times.valetUp.push(result.rate);
          id = result.id;
        } else
          times.rawUp.push(
            curl(['-X', 'POST', '-H', 'content-type: application/octet-stream', '--data-binary', `@${file}`, raw]),
          );
      }
      const fileUrl = await call(base, 'query', 'files:url', { id });
      for (const side of valetFirst ? ['valet', 'raw', 'disk'] : ['disk', 'raw', 'valet']) {
        if (side === 'valet') times.valetDown.push(curl([fileUrl]));
        else if (side === 'raw') times.rawDown.push(curl([raw]));
        else times.disk.push(curl([`file://${file}`]));
      }
    }
    // Memory stays flat however large the file: the server's peak resident set, after it all.
    const peak = /VmHWM:\s+(\d+) kB/.exec((await import('node:fs')).readFileSync(`/proc/${server.pid}/status`, 'utf8'));
    const peakMb = peak ? Number(peak[1]) / 1024 : null;
    server.kill('SIGTERM');
    await new Promise((resolve) => server.once('exit', resolve));
    await database?.drop();
    await s3?.close();
    const row = (label, values) =>
      console.log(
        `  ${label.padEnd(36)} median ${median(values).toFixed(0).padStart(5)} MB/s   range ${spread(values)} MB/s`,
      );
    console.log(
      `${backend} (load average ${load()}; valet start's peak RSS ${peakMb === null ? 'n/a' : `${peakMb.toFixed(0)} MB`} after moving the ${MB} MB file ${2 * (ROUNDS + 1)} times):`,
    );
    row('valet upload', times.valetUp);
    row('raw node:http upload to disk', times.rawUp);
    row('valet download', times.valetDown);
    row('raw node:http download from disk', times.rawDown);
    row('curl reading the file from disk', times.disk);
    const up = median(times.valetUp) / median(times.rawUp);
    const down = median(times.valetDown) / median(times.rawDown);
    const verdict = (ratio) => (ratio >= GOAL ? 'met' : 'MISSED');
    console.log(
      `  upload ${(up * 100).toFixed(0)} % of raw — ${verdict(up)}; download ${(down * 100).toFixed(0)} % of raw — ${verdict(down)} (${((100 * median(times.valetDown)) / median(times.disk)).toFixed(0)} % of curl from disk)\n`,
    );
    summary.push(
      `${backend}: upload ${(up * 100).toFixed(0)} % (${verdict(up)}), download ${(down * 100).toFixed(0)} % (${verdict(down)}) of raw node:http (goal ≥ 70 %)`,
    );
  }
} finally {
  for (const child of children) child.kill('SIGKILL');
}
console.log(summary.join('\n'));
