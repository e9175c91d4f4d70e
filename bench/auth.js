// bench/auth: valet/auth as its users get it, from the built `valet start` (default settings) over
// loopback. Sign-in p50 beside the password hash's own cost (scrypt, measured here, which bounds
// it below); token refresh p50; and an authenticated query's req/s with valet/auth tokens (one
// token, and 25 users' tokens) against the same query public — interleaved rounds (A B A B …),
// medians and spread, the load average beside them.
//
//   npm run bench -- auth
import autocannon from 'autocannon';
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { createBenchApp, ROOT } from './_apps.js';
import { loadAverage, machine } from './_measure.js';

const WORK = join(ROOT, 'bench', '.work', 'auth');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const DURATION = Number(process.env.BENCH_DURATION ?? 4);
// Under the sign-up limit of 30 codes an hour per address: every request here comes from loopback.
const USERS = 25;

const FILES = {
  'schema.ts': `import { defineSchema, defineTable, v } from './_generated/valet/api';
export default defineSchema({
  users: defineTable({ email: v.optional(v.string()) }).index('by_email', ['email']),
  items: defineTable({ key: v.string(), n: v.number() }).index('by_key', ['key']),
});
`,
  'auth.ts': `import { Password, valetAuth } from 'valet/auth';
// Sign-up signs in at once here (no emailed code to read back in a benchmark).
export const auth = valetAuth({ providers: [Password({ verifyEmail: false })] });
`,
  'items.ts': `import { defineMutation, defineQuery, v } from './_generated/valet/api';
export const byKey = defineQuery({ args: { key: v.string() }, access: 'public', handler: async (ctx, args) => ctx.db.query('items').withIndex('by_key', (q) => q.eq('key', args.key)).first() });
export const byKeySignedIn = defineQuery({ args: { key: v.string() }, handler: async (ctx, args) => ctx.db.query('items').withIndex('by_key', (q) => q.eq('key', args.key)).first() });
export const seed = defineMutation({ access: 'system', handler: async (ctx) => { for (let i = 0; i < 1000; i++) await ctx.db.insert('items', { key: 'key-' + i, n: i }); } });
`,
};

const children = [];
process.on('exit', () => children.forEach((c) => c.kill('SIGKILL')));

const freePort = () =>
  new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const spread = (values) => `${Math.min(...values).toFixed(1)}–${Math.max(...values).toFixed(1)}`;

async function startValet() {
  const app = createBenchApp(join(WORK, 'app'), 'bench-auth', FILES);
  const bin = join(ROOT, 'bin', 'valet.js');
  const options = { cwd: app, env: { ...process.env, NO_COLOR: '1' } };
  spawnSync(process.execPath, [bin, 'codegen'], { ...options, stdio: 'ignore' });
  const child = spawn(process.execPath, [bin, 'start', '--port', String(await freePort())], {
    ...options,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(child);
  const url = await new Promise((resolve, reject) => {
    let text = '';
    child.stderr.on('data', (chunk) => {
      text += chunk;
      const match = text.match(/at (http:\/\/127\.0\.0\.1:\d+)/);
      if (match) resolve(match[1]);
    });
    child.on('exit', (code) => reject(new Error(`valet start exited ${code}: ${text}`)));
  });
  const seeded = spawnSync(process.execPath, [bin, 'run', 'items:seed'], { ...options, encoding: 'utf8' });
  if (seeded.status !== 0) throw new Error(`seeding failed: ${seeded.stderr}`);
  return url;
}

async function post(url, path, body) {
  const started = performance.now();
  const response = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const answer = await response.json();
  if (!response.ok) throw new Error(`${path}: ${response.status} ${JSON.stringify(answer)}`);
  return { answer, ms: performance.now() - started };
}

/** The password hash alone, in this process, with the parameters valet/auth uses. */
async function scryptMs() {
  const { hashPassword } = await import(join(ROOT, 'dist', 'runtime', 'auth', 'signin', 'passwords.js'));
  const started = performance.now();
  await hashPassword('correct horse battery staple');
  return performance.now() - started;
}

function load(url, path, token) {
  return new Promise((resolve, reject) => {
    let next = 0;
    autocannon(
      {
        url: `${url}/api/query`,
        method: 'POST',
        connections: 50,
        duration: DURATION,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ path, args: { key: 'key-7' } }),
        ...(token
          ? {
              requests: [
                {
                  setupRequest: (request) => ({
                    ...request,
                    headers: { ...request.headers, authorization: `Bearer ${token[next++ % token.length]}` },
                  }),
                },
              ],
            }
          : {}),
      },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
  });
}

console.log(`bench/auth on ${machine()}, load average ${loadAverage()}`);
console.log(`${ROUNDS} rounds, ${DURATION} s per load run, 50 connections, autocannon over loopback\n`);
const url = await startValet();

// Sign-ups: USERS accounts, each with its first pair.
const sessions = [];
for (let i = 0; i < USERS; i++) {
  const { answer } = await post(url, '/api/auth/signin', {
    provider: 'password',
    params: { flow: 'signUp', email: `user${i}@bench.example`, password: `bench password ${i}` },
  });
  sessions.push(answer);
}

// Sign-in and the hash's cost, interleaved; then refreshes.
const signInMs = [];
const hashMs = [];
for (let round = 0; round < 20; round++) {
  const i = round % USERS;
  signInMs.push(
    (
      await post(url, '/api/auth/signin', {
        provider: 'password',
        params: { flow: 'signIn', email: `user${i}@bench.example`, password: `bench password ${i}` },
      })
    ).ms,
  );
  hashMs.push(await scryptMs());
}
const refreshMs = [];
for (let round = 0; round < 50; round++) {
  const i = round % USERS;
  const { answer, ms } = await post(url, '/api/auth/refresh', { refreshToken: sessions[i].refreshToken });
  sessions[i] = answer;
  refreshMs.push(ms);
}

const targets = [
  { label: 'public query', run: () => load(url, 'items:byKey', null) },
  {
    label: 'authenticated query, one valet/auth token',
    run: () => load(url, 'items:byKeySignedIn', [sessions[0].token]),
  },
  {
    label: `authenticated query, ${USERS} users' tokens`,
    run: () =>
      load(
        url,
        'items:byKeySignedIn',
        sessions.map((s) => s.token),
      ),
  },
];
const samples = new Map(targets.map((t) => [t.label, []]));
const loads = [];
for (let round = 0; round < ROUNDS; round++) {
  for (const target of targets) {
    const result = await target.run();
    if (result.non2xx > 0) throw new Error(`${target.label}: ${result.non2xx} answers were not 2xx`);
    samples.get(target.label).push(result.requests.average);
  }
  loads.push(loadavg()[0]);
}

const row = (label, values, unit) =>
  console.log(
    `${label.padEnd(48)} median ${median(values).toFixed(1).padStart(8)} ${unit}   range ${spread(values)} ${unit}   (n=${values.length})`,
  );
row('password hash alone (scrypt N=2^15 r=8 p=3)', hashMs, 'ms');
row('sign-in over HTTP (email + password)', signInMs, 'ms');
row('token refresh over HTTP', refreshMs, 'ms');
for (const target of targets) row(target.label, samples.get(target.label), 'req/s');
console.log(`load average (1 min) over the rounds: ${spread(loads)}`);

const publicRps = median(samples.get('public query'));
const ratio = (label) => median(samples.get(label)) / publicRps;
const targetsMet = [
  [
    `sign-in p50 within 2× the hash's cost`,
    median(signInMs) <= 2 * median(hashMs),
    `${(median(signInMs) / median(hashMs)).toFixed(2)}×`,
  ],
  ['token refresh p50 ≤ 25 ms', median(refreshMs) <= 25, `${median(refreshMs).toFixed(1)} ms`],
  [
    'authenticated query (one token) ≥ 90% of public',
    ratio(targets[1].label) >= 0.9,
    `${(ratio(targets[1].label) * 100).toFixed(0)}%`,
  ],
  [
    `authenticated query (${USERS} users) ≥ 85% of public`,
    ratio(targets[2].label) >= 0.85,
    `${(ratio(targets[2].label) * 100).toFixed(0)}%`,
  ],
];
console.log('\nTargets');
for (const [label, met, value] of targetsMet) console.log(`  ${label}: ${value} — ${met ? 'met' : 'MISSED'}`);
process.exit(0);
