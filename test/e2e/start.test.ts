// `valet start` with the real built binary on the basic template: serve, call over HTTP with a
// dev token, call as admin with `valet run`, read the invocation log, stop cleanly — and the
// failures a user can cause get a message, not a stack trace. The postgres test project runs this
// same script with VALET_DATABASE_URL set: the basic template under `valet start` on PostgreSQL.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkDependencies, removeTempDirs, serverRecords, tempDir, valet, valetAsync } from '../helpers/apps.js';
import { onPostgres } from '../helpers/database.js';
import { waitUntil } from '../helpers/instances.js';
import { freePort, killAll, spawnValet } from '../helpers/processes.js';
import type { RunningValet } from '../helpers/processes.js';

afterAll(() => {
  killAll();
  removeTempDirs();
});

const WEBHOOK_SECRET = 'whsec_e2e_0123456789abcdef';

async function post(url: string, kind: string, body: object, headers: Record<string, string> = {}) {
  const response = await fetch(`${url}/api/${kind}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as any };
}

describe(`valet start on a new basic app (${onPostgres ? 'PostgreSQL' : 'SQLite'})`, () => {
  let app: string;
  let server: RunningValet;
  let url: string;
  let port: number;
  let token: string;

  beforeAll(async () => {
    const parent = tempDir();
    expect(valet(['init', 'shop', '--template', 'basic', '--yes', '--no-install'], parent).code).toBe(0);
    app = join(parent, 'shop');
    linkDependencies(app);
    port = await freePort();
    server = spawnValet(['start', '--port', String(port), '--dev-auth'], app, {
      PURCHASE_WEBHOOK_SECRET: WEBHOOK_SECRET,
    });
    url = (await server.waitFor(/Valet serving \d+ functions at (http:\/\/127\.0\.0\.1:\d+)/))[1]!;
    // The backend it really runs on, as the start line reports it.
    expect(server.output()).toContain(onPostgres ? '(database postgres://' : '(database .valet/valet.db');
    token = valet(['token', 'alice'], app).stdout.trim();
  });

  afterAll(() => server?.stop('SIGKILL'));

  it('serves queries, mutations and the seed action over HTTP with a dev token', async () => {
    const created = await post(
      url,
      'mutation',
      { path: 'users:create', args: { email: 'alice@example.com', name: 'Alice' } },
      { authorization: `Bearer ${token}` },
    );
    expect(created.status).toBe(200);
    const userId = created.body.value;
    expect((await post(url, 'query', { path: 'users:list', args: {} })).body.value).toEqual([
      expect.objectContaining({ _id: userId, email: 'alice@example.com' }),
    ]);

    const call = () =>
      post(
        url,
        'action',
        { path: 'actions:sendWelcomeEmail', args: { userId } },
        { authorization: `Bearer ${token}`, 'idempotency-key': 'welcome-alice' },
      );
    const first = await call();
    expect(first).toMatchObject({ status: 200, body: { value: { accepted: true } } });
    const replay = await call();
    expect(replay.status).toBe(200);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
  });

  it('answers with the documented errors', async () => {
    expect(await post(url, 'action', { path: 'actions:sendWelcomeEmail', args: { userId: 'x' } })).toMatchObject({
      status: 401,
      body: { code: 'unauthenticated' },
    });
    expect(
      await post(url, 'query', { path: 'users:get', args: { userId: 7 } }, { authorization: `Bearer ${token}` }),
    ).toMatchObject({
      status: 400,
      body: { code: 'invalid_args', message: 'args.userId: expected id of users, got number' },
    });
    expect(
      await post(url, 'action', { path: 'digest:sendDaily', args: {} }, { authorization: `Bearer ${token}` }),
    ).toMatchObject({ status: 404, body: { code: 'function_not_found' } });
    expect(
      await post(url, 'query', { path: 'users:list', args: {} }, { authorization: 'Bearer not-a-jwt' }),
    ).toMatchObject({ status: 401, body: { code: 'token_malformed' } });
  });

  it('runs functions as admin through the running server, system ones included', async () => {
    const byEmail = await valetAsync(['run', 'users:byEmail', '{"email":"alice@example.com"}'], app);
    expect(byEmail.code, byEmail.stderr).toBe(0);
    expect(JSON.parse(byEmail.stdout)).toMatchObject({ email: 'alice@example.com' });
    expect(byEmail.stderr).toContain('through the running server');
    const digest = await valetAsync(['run', 'digest:sendDaily', '--json'], app);
    expect(JSON.parse(digest.stdout)).toEqual({ value: { queued: 1 } });
    const bad = await valetAsync(['run', 'users:create', '{"email":1}'], app);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('users:create → 400 invalid_args: args.email: expected string, got number');
    expect((await valetAsync(['run', 'users:nope'], app)).stderr).toContain('no function users:nope');
    expect((await valetAsync(['run', 'users:list', 'not json'], app)).code).toBe(2);
  });

  it('shows the invocation log', async () => {
    const list = await valetAsync(['invocations', 'ls', '--json'], app);
    const rows = JSON.parse(list.stdout);
    const welcome = rows.find((r: { function: string }) => r.function === 'actions:sendWelcomeEmail');
    expect(welcome).toMatchObject({
      status: 'succeeded',
      idempotencyKey: 'welcome-alice',
      invoker: { type: 'user', userId: 'alice' },
      attempts: 1,
      result: { accepted: true },
    });
    expect(rows.find((r: { function: string }) => r.function === 'digest:sendDaily')).toMatchObject({
      invoker: { type: 'system', source: 'admin' },
    });
    const show = await valetAsync(['invocations', 'show', welcome.id, '--json'], app);
    expect(JSON.parse(show.stdout)).toEqual(welcome);
    const human = await valetAsync(['invocations', 'ls', '--status', 'succeeded'], app);
    expect(human.stdout).toMatch(/actions:sendWelcomeEmail\s+succeeded\s+1×/);
  });

  it('records a purchase with a mutation that schedules the system notify action (the seed pattern)', async () => {
    const purchase = await post(
      url,
      'mutation',
      { path: 'purchases:record', args: { item: 'book', amountCents: 1200 } },
      { authorization: `Bearer ${token}` },
    );
    expect(purchase.status).toBe(200);
    expect(
      await post(
        url,
        'action',
        { path: 'purchases:notify', args: { purchaseId: purchase.body.value } },
        { authorization: `Bearer ${token}` },
      ),
    ).toMatchObject({ status: 404 });
    let scheduled: { function: string; status: string }[] = [];
    for (let i = 0; i < 100 && !scheduled.some((s) => s.status === 'done'); i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      scheduled = JSON.parse((await valetAsync(['scheduled', 'ls', '--json'], app)).stdout);
    }
    // The buyer's review request waits three days.
    expect(scheduled).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ function: 'purchases:notify', status: 'done' }),
        expect.objectContaining({ function: 'purchases:askForReview', status: 'pending' }),
      ]),
    );
    expect(scheduled).toHaveLength(2);
    await server.waitFor(/\[purchases:notify \w+\] purchase \w+: set PURCHASE_NOTIFY_URL/);
    const logs = await valetAsync(['logs', '--json'], app);
    expect(logs.stdout).toContain('"function":"purchases:notify"');
  });

  it('accepts the signed purchase webhook once, and refuses an unsigned one', async () => {
    const { signWebhookPayload } = await import('../../src/server/index.js');
    const payload = JSON.stringify({ id: 'evt_1', item: 'pen', amountCents: 300 });
    const send = async (signature: string | null) =>
      (
        await fetch(`${url}/http/webhooks/purchase`, {
          method: 'POST',
          body: payload,
          headers: signature ? { 'valet-signature': signature } : {},
        })
      ).status;
    expect(await send(null)).toBe(400);
    expect(await send(await signWebhookPayload({ payload, secret: WEBHOOK_SECRET }))).toBe(204);
    expect(await send(await signWebhookPayload({ payload, secret: WEBHOOK_SECRET }))).toBe(204);
    const purchases = JSON.parse((await valetAsync(['data', 'purchases', '--json'], app)).stdout);
    expect(purchases.filter((p: { externalId?: string }) => p.externalId === 'evt_1')).toHaveLength(1);
    expect((await fetch(`${url}/http/health`)).status).toBe(200);
  });

  it('lists cron jobs with their next run, and delivers email through the capture transport', async () => {
    const jobs = JSON.parse((await valetAsync(['cron', 'ls', '--json'], app)).stdout);
    expect(jobs).toEqual([
      {
        name: 'daily-digest',
        schedule: '0 9 * * *',
        function: 'digest:sendDaily',
        nextRun: expect.stringMatching(/T09:00:00\.000Z$/),
        lastStatus: null,
        lastRunAt: null,
      },
    ]);
    const trigger = await valetAsync(['cron', 'trigger', 'daily-digest'], app);
    expect(trigger.stderr).toContain('through the running server');
    expect(JSON.parse((await valetAsync(['cron', 'runs', '--json'], app)).stdout)).toEqual([
      expect.objectContaining({ job: 'daily-digest', status: 'succeeded', trigger: 'admin' }),
    ]);
    await server.waitFor(/✉ email to alice@example\.com: "Your daily digest"/);
    const outbox = JSON.parse((await valetAsync(['outbox', 'ls', '--json'], app)).stdout);
    expect(outbox.length).toBeGreaterThan(0);
    expect(outbox.filter((e: { status: string }) => e.status !== 'sent')).toEqual([]);
  });

  // On PostgreSQL several instances of one app are how it scales out (docs/deploy.md).
  it.skipIf(onPostgres)('refuses a second server for the same app, naming the first', async () => {
    const second = spawnValet(['start', '--port', String(await freePort())], app);
    expect(await second.exited).toBe(1);
    expect(second.output()).toContain(
      `.valet/valet.db is already served by a Valet server at ${url} (pid ${server.child.pid}); stop it first`,
    );
    expect(second.output()).not.toMatch(/\n\s+at /);
  });

  it('refuses a port another server holds, with a message', async () => {
    const parent = tempDir();
    expect(valet(['init', 'other', '--template', 'basic', '--yes', '--no-install'], parent).code).toBe(0);
    linkDependencies(join(parent, 'other'));
    const second = spawnValet(['start', '--port', String(port)], join(parent, 'other'));
    expect(await second.exited).toBe(1);
    expect(second.output()).toContain(`port ${port} is already in use`);
    expect(second.output()).not.toMatch(/\n\s+at /);
  });

  it('stops on SIGINT, and valet run then works in-process on the same data', async () => {
    expect(await server.stop('SIGINT')).toBe(0);
    expect(serverRecords(app)).toEqual([]);
    const list = await valetAsync(['run', 'users:list'], app);
    expect(JSON.parse(list.stdout)).toHaveLength(1);
    expect(list.stderr).toContain('in-process');
  });

  it('names file:line of a broken module and refuses to start', async () => {
    const users = join(app, 'valet/users.ts');
    const good = readFileSync(users, 'utf8');
    writeFileSync(users, good.replace("access: 'public',", "access: 'public',,"));
    try {
      const broken = spawnValet(['start', '--port', String(port)], app);
      expect(await broken.exited).toBe(1);
      expect(broken.output()).toMatch(/valet\/users\.ts:\d+:\d+: /);
      expect(broken.output()).not.toMatch(/\n\s+at /);
    } finally {
      writeFileSync(users, good);
    }
  });

  it('replaces the record of a killed server instead of refusing', async () => {
    const killed = spawnValet(['start', '--port', String(port), '--dev-auth'], app);
    await killed.waitFor(/Valet serving/);
    expect(await killed.stop('SIGKILL')).toBe(null);
    expect(serverRecords(app).map((record) => record.pid)).toEqual([killed.child.pid]);
    const next = spawnValet(['start', '--port', String(port)], app);
    await next.waitFor(/Valet serving/);
    expect(serverRecords(app).map((record) => record.pid)).toEqual([next.child.pid]);
    await next.stop('SIGINT');
  });

  it('trusts no dev tokens without --dev-auth: signed-in calls answer auth_not_configured, public ones work', async () => {
    const plain = spawnValet(['start', '--port', String(port)], app);
    await plain.waitFor(/Valet serving .*auth_not_configured/);
    try {
      expect(
        await post(
          url,
          'mutation',
          { path: 'users:create', args: { email: 'x@example.com' } },
          { authorization: `Bearer ${token}` },
        ),
      ).toMatchObject({ status: 401, body: { code: 'auth_not_configured' } });
      expect(await post(url, 'mutation', { path: 'users:create', args: { email: 'x@example.com' } })).toMatchObject({
        status: 401,
        body: { code: 'auth_not_configured' },
      });
      expect((await post(url, 'query', { path: 'users:list', args: {} })).status).toBe(200);
    } finally {
      await plain.stop('SIGINT');
    }
  });

  it('ends on SIGTERM within its grace, naming the work it left running', async () => {
    // A scheduled action and a called one that would run for ten minutes.
    writeFileSync(
      join(app, 'valet/slow.ts'),
      `import { api, defineAction, defineMutation } from './_generated/valet/api';

export const sleep = defineAction({
  args: {},
  access: 'public',
  handler: async () => new Promise((resolve) => setTimeout(resolve, 600_000)),
});

export const later = defineMutation({
  args: {},
  access: 'public',
  handler: async (ctx) => ctx.scheduler.runAfter(0, api.slow.sleep, {}),
});
`,
    );
    try {
      expect(valet(['codegen'], app).code).toBe(0);
      const slow = spawnValet(['start', '--port', String(port)], app, {
        VALET_SHUTDOWN_DRAIN_MS: '0',
        VALET_SHUTDOWN_GRACE_MS: '300',
      });
      await slow.waitFor(/Valet serving/);
      expect((await post(url, 'mutation', { path: 'slow:later', args: {} })).status).toBe(200);
      void post(url, 'action', { path: 'slow:sleep', args: {} }).catch(() => undefined);
      // Both run once the invocation log shows two sleeps running.
      await waitUntil(
        async () =>
          (
            JSON.parse(
              (await valetAsync(['invocations', 'ls', '--function', 'slow:sleep', '--json'], app)).stdout,
            ) as unknown[]
          ).length >= 2,
        60_000,
        'the scheduled and the called sleep to be running',
      );
      expect(await slow.stop('SIGTERM', 30_000)).toBe(0);
      expect(slow.output()).toContain('still waiting for scheduled calls in flight after 300 ms');
      expect(slow.output()).not.toMatch(/\n\s+at /);
    } finally {
      rmSync(join(app, 'valet/slow.ts'));
      expect(valet(['codegen'], app).code).toBe(0);
    }
  });

  it.skipIf(onPostgres)('explains a corrupt database instead of crashing', async () => {
    writeFileSync(join(app, '.valet/valet.db'), 'garbage '.repeat(200));
    for (const suffix of ['-wal', '-shm']) writeFileSync(join(app, `.valet/valet.db${suffix}`), '');
    const corrupt = spawnValet(['start', '--port', String(port)], app);
    expect(await corrupt.exited).toBe(1);
    expect(corrupt.output()).toContain('is not a valid SQLite database');
    expect(corrupt.output()).not.toMatch(/\n\s+at /);
  });
});
