// bench/invoke: requests/s and p50/p99 latency over loopback for a query by index, a mutation
// inserting one document, an action doing one auto-commit write and a replayed idempotent action,
// each against a minimal node:http server doing the same database work directly, in the same run.
// Servers are the real built `valet start` in their own processes; autocannon runs here. Every
// measurement is taken BENCH_ROUNDS times (interleaved) and reported as median and range.
// Beside them, the same build with its call log kept in memory only (VALET_CALLS_STORE=memory):
// the cost of writing every call to the log's file (issue 30's budget: within 5 %).
//
//   npm run bench -- invoke                       SQLite
//   npm run bench -- invoke --before <git ref>    and the same SQLite paths on that earlier build
//   npm run bench -- invoke --database postgres   PostgreSQL against the raw pg driver, beside SQLite
//                                     [--before <git ref>]   and the PostgreSQL paths on that earlier build
import autocannon from 'autocannon';
import pg from 'pg';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createBenchApp, ROOT } from './_apps.js';
import { loadAverage, machine } from './_measure.js';
import { benchDatabase } from './_postgres.js';

const WORK = join(ROOT, 'bench', '.work', 'invoke');
const DURATION = Number(process.env.BENCH_DURATION ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONNECTIONS = 50;
const flag = (name) => {
  const i = process.argv.indexOf(name);
  return i === -1 ? undefined : process.argv[i + 1];
};
const DATABASE = flag('--database') ?? 'sqlite';
/**
 * An earlier build to measure the same SQLite paths on, interleaved (`--before <git ref>`). None by
 * default: the one this used to default to (682fe28, before the storage seam) no longer builds
 * with today's dependencies.
 */
const BEFORE = flag('--before');
if (!['sqlite', 'postgres'].includes(DATABASE)) {
  process.stderr.write('usage: npm run bench -- invoke [--database sqlite|postgres] [--before <git ref>]\n');
  process.exit(2);
}

const FILES = {
  'schema.ts': `import { defineSchema, defineTable, v } from './_generated/valet/api';
export default defineSchema({ items: defineTable({ key: v.string(), n: v.number() }).index('by_key', ['key']) });
`,
  'items.ts': `import { defineAction, defineMutation, defineQuery, v } from './_generated/valet/api';
export const byKey = defineQuery({ args: { key: v.string() }, access: 'public', handler: async (ctx, args) => ctx.db.query('items').withIndex('by_key', (q) => q.eq('key', args.key)).first() });
export const byKeySignedIn = defineQuery({ args: { key: v.string() }, handler: async (ctx, args) => ctx.db.query('items').withIndex('by_key', (q) => q.eq('key', args.key)).first() });
export const insert = defineMutation({ args: { key: v.string(), n: v.number() }, access: 'public', handler: async (ctx, args) => ctx.db.insert('items', args) });
export const write = defineAction({ args: { key: v.string(), n: v.number() }, access: 'public', handler: async (ctx, args) => ctx.db.insert('items', args) });
export const seed = defineMutation({ access: 'system', handler: async (ctx) => { for (let i = 0; i < 1000; i++) await ctx.db.insert('items', { key: 'key-' + i, n: i }); } });
`,
};

const children = [];

/** A port the OS says is free right now. */
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

function waitForLine(child, pattern) {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (chunk) => {
      text += chunk;
      const match = text.match(pattern);
      if (match) resolve(match);
    };
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`server exited ${code}: ${text}`)));
  });
}

/** `valet start` of the Valet at `root` on a new app, seeded with 1000 items; resolves to its URL. */
async function startValet(name, root, env = {}) {
  const app = join(WORK, name);
  createBenchApp(app, `bench-invoke-${name}`, FILES, root);
  const bin = join(root, 'bin', 'valet.js');
  const options = { cwd: app, env: { ...process.env, NO_COLOR: '1', ...env } };
  spawnSync(process.execPath, [bin, 'codegen'], { ...options, stdio: 'ignore' });
  const child = spawn(process.execPath, [bin, 'start', '--port', String(await freePort()), '--dev-auth'], {
    ...options,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  const url = (await waitForLine(child, /at (http:\/\/127\.0\.0\.1:\d+)/))[1];
  const seeded = spawnSync(process.execPath, [bin, 'run', 'items:seed'], { ...options, encoding: 'utf8' });
  if (seeded.status !== 0) throw new Error(`seeding ${name} failed: ${seeded.stderr}`);
  const token = spawnSync(process.execPath, [bin, 'token', 'bench-user'], {
    ...options,
    encoding: 'utf8',
  }).stdout.trim();
  return { url, token, app, pid: child.pid };
}

async function startBaseline(script, target) {
  const port = await freePort();
  const child = spawn(process.execPath, [join(ROOT, 'bench', script), target, String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  await waitForLine(child, /baseline ready/);
  return { url: `http://127.0.0.1:${port}`, pid: child.pid };
}

/** The build of `ref` in a git worktree (node_modules shared), or null with the reason printed. */
function buildBefore(ref) {
  const dir = join(WORK, 'before-build');
  const git = (...args) => spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' });
  git('worktree', 'remove', '--force', dir);
  const added = git('worktree', 'add', '--detach', dir, ref);
  if (added.status !== 0) {
    console.log(`(comparison with ${ref} skipped: cannot check it out: ${added.stderr.trim()})`);
    return null;
  }
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  const built = spawnSync(
    process.execPath,
    [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
    { cwd: dir, encoding: 'utf8' },
  );
  if (built.status !== 0) {
    console.log(`(comparison with ${ref} skipped: it does not build: ${built.stdout.slice(0, 300)})`);
    return null;
  }
  // Builds from issue 13 on start from a bundled CLI entry.
  if (existsSync(join(dir, 'scripts', 'bundle-cli.js'))) {
    const bundled = spawnSync(process.execPath, [join(dir, 'scripts', 'bundle-cli.js')], {
      cwd: dir,
      encoding: 'utf8',
    });
    if (bundled.status !== 0) {
      console.log(`(comparison skipped: ${ref}'s CLI does not bundle: ${bundled.stderr.slice(0, 300)})`);
      return null;
    }
  }
  return dir;
}

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  // utime and stime are fields 14 and 15 of the whole line, in clock ticks (100 per second here).
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/**
 * One autocannon run; with `tokens`, each request carries the next of them as its bearer token.
 * With `pid`, the server's CPU time per request is measured too (the load generator shares the cores).
 */
function load(url, path, args, headers = {}, { connections = CONNECTIONS, tokens, pid } = {}) {
  let next = 0;
  const cpuBefore = pid ? cpuSeconds(pid) : null;
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url,
        method: 'POST',
        connections,
        duration: DURATION,
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ path, args }),
        ...(tokens
          ? {
              requests: [
                {
                  setupRequest: (request) => ({
                    ...request,
                    headers: { ...request.headers, authorization: `Bearer ${tokens[next++ % tokens.length]}` },
                  }),
                },
              ],
            }
          : {}),
      },
      (error, result) => {
        if (error) return reject(error);
        if (cpuBefore !== null) result.cpuUsPerRequest = ((cpuSeconds(pid) - cpuBefore) * 1e6) / result.requests.total;
        resolve(result);
      },
    );
  });
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/** Runs every target once per round, interleaved, so drift over time hits all of them alike. */
async function measure(targets) {
  const samples = new Map(targets.map((t) => [t.label, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const target of targets) samples.get(target.label).push(await target.run());
  }
  return new Map(
    targets.map((t) => {
      const runs = samples.get(t.label);
      const rps = runs.map((r) => r.requests.average);
      return [
        t.label,
        {
          rps: median(rps),
          min: Math.min(...rps),
          max: Math.max(...rps),
          p50: median(runs.map((r) => r.latency.p50)),
          p99: median(runs.map((r) => r.latency.p99)),
          non2xx: runs.reduce((n, r) => n + (r.non2xx ?? 0), 0),
          cpuUs: runs[0].cpuUsPerRequest === undefined ? null : median(runs.map((r) => r.cpuUsPerRequest)),
        },
      ];
    }),
  );
}

function print(results) {
  for (const [label, r] of results) {
    const non2xx = r.non2xx ? `  non-2xx ${r.non2xx}` : '';
    const cpu = r.cpuUs === null ? '' : `   server CPU ${r.cpuUs.toFixed(0).padStart(4)} µs/req`;
    console.log(
      `${label.padEnd(50)} median ${String(Math.round(r.rps)).padStart(6)} req/s (range ${Math.round(r.min)}–${Math.round(r.max)})   p50 ${String(r.p50).padStart(3)} ms   p99 ${String(r.p99).padStart(3)} ms${cpu}${non2xx}`,
    );
  }
}

const verdict = (ok) => (ok ? 'met' : 'MISSED');

/** Runs `work` while sampling what the bench database's busy backends wait on, into `waits`. */
async function sampleWaits(url, waits, work) {
  const sampler = new pg.Client({ connectionString: url });
  await sampler.connect();
  let sampling = true;
  const loop = (async () => {
    while (sampling) {
      const { rows } = await sampler.query(
        `SELECT coalesce(wait_event_type || ':' || wait_event, 'running') AS event FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'active'`,
      );
      for (const { event } of rows) waits.set(event, (waits.get(event) ?? 0) + 1);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  try {
    return await work();
  } finally {
    sampling = false;
    await loop;
    await sampler.end();
  }
}

console.log(`bench/invoke --database ${DATABASE} on ${machine()}, load average ${loadAverage()}`);
console.log(`${CONNECTIONS} connections, ${DURATION} s per run, ${ROUNDS} rounds, autocannon over loopback\n`);
rmSync(WORK, { recursive: true, force: true });
mkdirSync(WORK, { recursive: true });
let database = null;
let beforeDatabase = null;
try {
  const valet = await startValet('sqlite', ROOT);
  const q = { key: 'key-500' };
  const m = { key: 'new', n: 1 };
  if (DATABASE === 'sqlite') {
    // Realistic tokens: every user its own, so verification is not one cached answer.
    const { signDevToken } = await import(join(ROOT, 'dist', 'project', 'keys.js'));
    const manyTokens = [];
    for (let i = 0; i < 10_000; i++) manyTokens.push(await signDevToken(valet.app, `bench-user-${i}`));
    const baseline = await startBaseline('_baseline-server.js', join(WORK, 'baseline.db'));
    // The same build with the call log kept in memory only: what writing it to its file costs.
    const memoryLog = await startValet('memory-log', ROOT, { VALET_CALLS_STORE: 'memory' });
    const beforeRoot = BEFORE ? buildBefore(BEFORE) : null;
    if (!BEFORE) console.log('(no --before <git ref>: the comparison with an earlier build is skipped)');
    const before = beforeRoot ? await startValet('before', beforeRoot) : null;
    await fetch(`${valet.url}/api/action`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'bench-replay' },
      body: JSON.stringify({ path: 'items:write', args: { key: 'once', n: 1 } }),
    });
    const targets = [
      {
        label: 'baseline: node:http + better-sqlite3 query',
        run: () => load(`${baseline.url}/api/query`, 'items:byKey', q, {}, { pid: baseline.pid }),
      },
      {
        label: 'valet query by index (public)',
        run: () => load(`${valet.url}/api/query`, 'items:byKey', q, {}, { pid: valet.pid }),
      },
      {
        label: 'valet query by index (10 000 distinct ES256 JWTs)',
        run: () => load(`${valet.url}/api/query`, 'items:byKeySignedIn', q, {}, { pid: valet.pid, tokens: manyTokens }),
      },
      {
        label: 'valet query by index (ES256 JWT)',
        run: () =>
          load(`${valet.url}/api/query`, 'items:byKeySignedIn', q, {}, { pid: valet.pid, tokens: [valet.token] }),
      },
      {
        label: 'valet query, call log in memory only',
        run: () => load(`${memoryLog.url}/api/query`, 'items:byKey', q, {}, { pid: memoryLog.pid }),
      },
      {
        label: 'baseline: node:http + better-sqlite3 insert',
        run: () => load(`${baseline.url}/api/mutation`, 'items:insert', m, {}, { pid: baseline.pid }),
      },
      {
        label: 'valet mutation, one insert',
        run: () => load(`${valet.url}/api/mutation`, 'items:insert', m, {}, { pid: valet.pid }),
      },
      {
        label: 'valet mutation, call log in memory only',
        run: () => load(`${memoryLog.url}/api/mutation`, 'items:insert', m, {}, { pid: memoryLog.pid }),
      },
      {
        label: 'valet action, one auto-commit write',
        run: () => load(`${valet.url}/api/action`, 'items:write', { key: 'action', n: 1 }, {}, { pid: valet.pid }),
      },
      {
        label: 'valet replayed idempotent action',
        run: () =>
          load(
            `${valet.url}/api/action`,
            'items:write',
            { key: 'once', n: 1 },
            { 'idempotency-key': 'bench-replay' },
            { pid: valet.pid },
          ),
      },
    ];
    if (before) {
      targets.push({
        label: `build ${BEFORE}: query`,
        run: () => load(`${before.url}/api/query`, 'items:byKey', q, {}, { pid: before.pid }),
      });
      targets.push({
        label: `build ${BEFORE}: mutation`,
        run: () => load(`${before.url}/api/mutation`, 'items:insert', m, {}, { pid: before.pid }),
      });
      targets.push({
        label: `build ${BEFORE}: action`,
        run: () => load(`${before.url}/api/action`, 'items:write', { key: 'action', n: 1 }, {}, { pid: before.pid }),
      });
    }
    const results = await measure(targets);
    print(results);
    console.log(
      '(the 10 000-token row: autocannon builds each of its requests anew on the same two cores, which caps its req/s; its server CPU per request is the cleaner figure)',
    );
    const r = (label) => results.get(label);
    const query = r('valet query by index (public)').rps / r('baseline: node:http + better-sqlite3 query').rps;
    const mutation = r('valet mutation, one insert').rps / r('baseline: node:http + better-sqlite3 insert').rps;
    const signedIn = r('valet query by index (ES256 JWT)').rps / r('valet query by index (public)').rps;
    const manySignedIn =
      r('valet query by index (10 000 distinct ES256 JWTs)').rps / r('valet query by index (public)').rps;
    console.log(`\nload average at the end: ${loadAverage()}`);
    console.log('\nTargets');
    console.log(
      `  query with an ES256 bearer token ≥ 90% of the public query: ${(signedIn * 100).toFixed(0)}% — ${verdict(signedIn >= 0.9)}`,
    );
    console.log(
      `  query with 10 000 distinct ES256 tokens ≥ 50% of the public query: ${(manySignedIn * 100).toFixed(0)}% — ${verdict(manySignedIn >= 0.5)}`,
    );
    console.log(`  query ≥ 70% of baseline req/s: ${(query * 100).toFixed(0)}% — ${verdict(query >= 0.7)}`);
    console.log(`  mutation ≥ 75% of baseline req/s: ${(mutation * 100).toFixed(0)}% — ${verdict(mutation >= 0.75)}`);
    for (const label of [
      'valet query by index (public)',
      'valet mutation, one insert',
      'valet action, one auto-commit write',
    ]) {
      console.log(
        `  ${label}: p99 ≤ 10 ms at ${CONNECTIONS} connections: ${r(label).p99} ms — ${verdict(r(label).p99 <= 10)}`,
      );
    }
    for (const [kind, label] of [
      ['query', 'valet query by index (public)'],
      ['mutation', 'valet mutation, one insert'],
    ]) {
      const memory = r(`valet ${kind}, call log in memory only`);
      const ratio = r(label).rps / memory.rps;
      const cpu = memory.cpuUs / r(label).cpuUs;
      console.log(
        `  ${kind} with the call log written to its file ≥ 95% of the same build keeping it in memory: ${(ratio * 100).toFixed(0)}% (server CPU per request ${(cpu * 100).toFixed(0)}%) — ${verdict(ratio >= 0.95)}`,
      );
    }
    if (before) {
      const now = {
        query: 'valet query by index (public)',
        mutation: 'valet mutation, one insert',
        action: 'valet action, one auto-commit write',
      };
      for (const kind of ['query', 'mutation', 'action']) {
        const ratio = r(now[kind]).rps / r(`build ${BEFORE}: ${kind}`).rps;
        // An earlier build is the budget: whatever changed since may cost at most 5 %.
        const floor = 0.95;
        console.log(
          `  SQLite ${kind} ≥ ${floor * 100}% of the build at ${BEFORE}: ${(ratio * 100).toFixed(0)}% — ${verdict(ratio >= floor)}`,
        );
      }
    }
  } else {
    database = await benchDatabase();
    const waits = new Map();
    const baseline = await startBaseline('_baseline-pg-server.js', database.url);
    const onPg = await startValet('postgres', ROOT, { VALET_DATABASE_URL: database.url });
    // The earlier build on a database of its own (the two never share tables).
    const beforeRoot = BEFORE ? buildBefore(BEFORE) : null;
    if (!BEFORE) console.log('(no --before <git ref>: the comparison with an earlier build is skipped)');
    beforeDatabase = beforeRoot ? await benchDatabase() : null;
    const before = beforeRoot
      ? await startValet('postgres-before', beforeRoot, { VALET_DATABASE_URL: beforeDatabase.url })
      : null;
    const beforeTargets = before
      ? [
          {
            label: `build ${BEFORE} on PostgreSQL: query`,
            run: () => load(`${before.url}/api/query`, 'items:byKey', q, {}, { pid: before.pid }),
          },
          {
            label: `build ${BEFORE} on PostgreSQL: mutation`,
            run: () => load(`${before.url}/api/mutation`, 'items:insert', m, {}, { pid: before.pid }),
          },
        ]
      : [];
    const results = await measure([
      {
        label: 'baseline: node:http + pg query',
        run: () => load(`${baseline.url}/api/query`, 'items:byKey', q, {}, { pid: baseline.pid }),
      },
      {
        label: 'valet on PostgreSQL: query by index',
        run: () => load(`${onPg.url}/api/query`, 'items:byKey', q, {}, { pid: onPg.pid }),
      },
      {
        label: 'baseline: node:http + pg insert (serializable)',
        run: () => load(`${baseline.url}/api/mutation`, 'items:insert', m, {}, { pid: baseline.pid }),
      },
      {
        label: 'valet on PostgreSQL: mutation, one insert',
        run: () =>
          sampleWaits(database.url, waits, () =>
            load(`${onPg.url}/api/mutation`, 'items:insert', m, {}, { pid: onPg.pid }),
          ),
      },
      {
        label: 'valet on PostgreSQL: action, one write',
        run: () => load(`${onPg.url}/api/action`, 'items:write', { key: 'action', n: 1 }, {}, { pid: onPg.pid }),
      },
      {
        label: 'valet on SQLite: query by index',
        run: () => load(`${valet.url}/api/query`, 'items:byKey', q, {}, { pid: valet.pid }),
      },
      {
        label: 'valet on SQLite: mutation, one insert',
        run: () => load(`${valet.url}/api/mutation`, 'items:insert', m, {}, { pid: valet.pid }),
      },
      ...beforeTargets,
    ]);
    print(results);
    const r = (label) => results.get(label);
    const query = r('valet on PostgreSQL: query by index').rps / r('baseline: node:http + pg query').rps;
    const mutation =
      r('valet on PostgreSQL: mutation, one insert').rps / r('baseline: node:http + pg insert (serializable)').rps;
    const sampled = [...waits.values()].reduce((a, b) => a + b, 0);
    console.log('\nWhat the busy backends waited on during the Valet mutation runs (pg_stat_activity every 20 ms):');
    for (const [event, count] of [...waits].sort((a, b) => b[1] - a[1]).slice(0, 6))
      console.log(`  ${event.padEnd(28)} ${((count / sampled) * 100).toFixed(1)}%`);
    const notifyLock = (waits.get('Lock:object') ?? 0) / sampled;
    console.log(`\nload average at the end: ${loadAverage()}`);
    console.log('\nTargets');
    console.log(
      `  PostgreSQL query ≥ 80% of the raw pg baseline: ${(query * 100).toFixed(0)}% — ${verdict(query >= 0.8)}`,
    );
    console.log(
      `  PostgreSQL mutation ≥ 75% of the raw pg baseline: ${(mutation * 100).toFixed(0)}% — ${verdict(mutation >= 0.75)}`,
    );
    console.log(
      `  no commit waits on the notify queue (Lock:object ≤ 1% of backend samples): ${(notifyLock * 100).toFixed(1)}% — ${verdict(notifyLock <= 0.01)}`,
    );
    if (before)
      for (const [kind, label] of [
        ['query', 'valet on PostgreSQL: query by index'],
        ['mutation', 'valet on PostgreSQL: mutation, one insert'],
      ]) {
        const ratio = r(label).rps / r(`build ${BEFORE} on PostgreSQL: ${kind}`).rps;
        console.log(
          `  PostgreSQL ${kind} against the build at ${BEFORE}: ${(ratio * 100).toFixed(0)}% (for the record)`,
        );
      }
  }
} finally {
  for (const child of children) child.kill('SIGINT');
  await new Promise((resolve) => setTimeout(resolve, 500));
  await database?.drop();
  await beforeDatabase?.drop();
  if (existsSync(join(WORK, 'before-build')))
    spawnSync('git', ['worktree', 'remove', '--force', join(WORK, 'before-build')], { cwd: ROOT });
  if (!process.env.BENCH_KEEP) rmSync(WORK, { recursive: true, force: true });
}
