// valet/testing against the engine-app fixture: the harness the templates' own tests use, proved
// here with scenarios a user writes — identities and access, scheduling and time, email and
// injected failures, fetch answered by the test with the SSRF guard still on, HTTP routes,
// idempotency and retries.
import { afterAll, describe, expect, it } from 'vitest';
import { user, valetTest, ValetCallError } from '../../src/testing/index.js';
import { fixtureApp, removeTempDirs, valet } from '../helpers/apps.js';

afterAll(removeTempDirs);

const app = fixtureApp('engine-app', []);
expect(valet(['codegen'], app).code).toBe(0);

describe('valetTest()', () => {
  it('gives every harness a fresh database', async () => {
    const first = await valetTest({ appDir: app });
    await first.mutation('users:create', { email: 'a@example.com' });
    const second = await valetTest({ appDir: app });
    expect(await second.query('users:emails')).toEqual([]);
    expect(await first.query('users:emails')).toEqual(['a@example.com']);
    await first.close();
    await second.close();
  });

  it('runs everything that comes due inside an advance, work scheduled by that work included, in order', async () => {
    const t = await valetTest({ appDir: app });
    const start = t.clock.now();
    await t.mutation('jobs:chain', { job: 'step', step: 1, steps: 5, everyMs: 2000 });
    const steps = async () =>
      ((await t.query('jobs:ticks')) as { job: string; invoker: { scheduledAt?: number } }[])
        .filter((tick) => tick.job.startsWith('step-'))
        .map((tick) => tick.job);
    expect(await steps()).toEqual(['step-1']);
    await t.clock.advance(5_000);
    expect(await steps()).toEqual(['step-1', 'step-2', 'step-3']);
    await t.clock.advance(5_000);
    expect(await steps()).toEqual(['step-1', 'step-2', 'step-3', 'step-4', 'step-5']);
    expect(t.clock.now()).toBe(start + 10_000);
    await t.close();
  });

  it('applies access rules as over HTTP, with the same error codes', async () => {
    const t = await valetTest({ appDir: app });
    await expect(t.query('users:mine')).rejects.toMatchObject({ code: 'unauthenticated', status: 401 });
    expect(await t.as(user('ada')).query('users:mine')).toBe('ada');
    await expect(t.as(user('ada')).action('actions:systemOnly')).rejects.toMatchObject({
      code: 'function_not_found',
      status: 404,
    });
    expect(await t.asSystem().action('actions:systemOnly')).toEqual({ type: 'system', source: 'admin' });
    const error = await t.mutation('users:create', { email: 3 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValetCallError);
    expect(error).toMatchObject({
      code: 'invalid_args',
      status: 400,
      message: 'args.email: expected string, got number',
    });
    await t.close();
  });

  it("runs setup and assertions with a mutation's ctx", async () => {
    const t = await valetTest({ appDir: app });
    const id = await t.run(async (ctx) => ctx.db.insert('users', { email: 'setup@example.com' }));
    expect(await t.run(async (ctx) => (await ctx.db.get(id)).email)).toBe('setup@example.com');
    await t.close();
  });

  it('runs scheduled work when the test moves time, and all of it with finishScheduled', async () => {
    // Mid-hour: moving the clock must not cross an hour, whose cron job (hourly-slow) waits to be
    // released (started at the wall clock's time, this test hung when run a minute before the hour).
    const t = await valetTest({ appDir: app, now: Date.UTC(2026, 0, 1, 8, 20, 0) });
    await t.mutation('jobs:later', { delayMs: 60_000, job: 'in-a-minute' });
    await t.mutation('jobs:later', { delayMs: 3_600_000, job: 'in-an-hour' });
    // (This app also has a cron that ticks every minute: only the scheduled ticks count here.)
    const ticks = async () =>
      ((await t.query('jobs:ticks')) as { job: string }[])
        .map((tick) => tick.job)
        .filter((job) => job.startsWith('in-'));
    expect(await ticks()).toEqual([]);
    await t.clock.advance(59_000);
    expect(await ticks()).toEqual([]);
    await t.clock.advance(1_000);
    expect(await ticks()).toEqual(['in-a-minute']);
    await t.finishScheduled();
    expect(await ticks()).toEqual(['in-a-minute', 'in-an-hour']);
    await t.close();
  });

  it('runs cron ticks as the clock passes them', async () => {
    // Between two hours: the app's hourly job (which waits to be released) stays out of it.
    const t = await valetTest({ appDir: app, now: Date.UTC(2026, 0, 1, 8, 30, 0) });
    await t.clock.advance(60_000);
    const jobs = ((await t.query('jobs:ticks')) as { job: string; invoker: { source: string } }[]).map(
      (tick) => `${tick.job}:${tick.invoker.source}`,
    );
    expect(jobs).toContain('every-minute:cron');
    await t.close();
  });

  it('keeps email in the process: lists it with contents, and retries injected failures', async () => {
    const t = await valetTest({ appDir: app });
    const id = await t.mutation('users:create', { email: 'ada@example.com', name: 'Ada' });
    t.outbox.failNext(1);
    await t.as(user('ada')).action('actions:sendWelcomeEmail', { userId: id });
    expect(t.outbox()).toEqual([
      expect.objectContaining({
        to: ['ada@example.com'],
        subject: 'Welcome to Valet',
        html: '<h1>Hello Ada</h1>',
        status: 'failed',
        attempts: 1,
        lastError: 'delivery failed (injected by the test)',
      }),
    ]);
    await t.clock.advance(1_000);
    expect(t.outbox()[0]).toMatchObject({ status: 'sent', attempts: 2 });
    t.outbox.failNext(1, { permanent: true });
    await t.as(user('ada')).action('actions:sendWelcomeEmail', { userId: id });
    expect(t.outbox()[1]).toMatchObject({ status: 'dead' });
    await t.close();
  });

  it('answers fetch from the test; an unmatched request fails clearly; the SSRF guard still holds', async () => {
    const t = await valetTest({ appDir: app });
    t.fetch.on('https://api.example.com/users/:name', (_request, params) => ({ login: params.name, followers: 42 }));
    expect(await t.action('net:fetchJson', { url: 'https://api.example.com/users/ada' })).toEqual({
      login: 'ada',
      followers: 42,
    });
    expect(t.fetch.calls.map((c) => c.url)).toEqual(['https://api.example.com/users/ada']);
    await expect(t.action('net:fetchJson', { url: 'https://elsewhere.example.com/x' })).rejects.toThrow(
      /no t\.fetch\.on\(\.\.\.\) route matches/,
    );
    await expect(t.action('net:fetchJson', { url: 'http://169.254.169.254/latest/meta-data/' })).rejects.toThrow(
      /refused \(metadata-endpoint\)/,
    );
    t.fetch.resolveName('sneaky.example.com', ['10.0.0.7']);
    await expect(t.action('net:fetchJson', { url: 'https://sneaky.example.com/' })).rejects.toThrow(
      /refused \(private\).*resolves to 10\.0\.0\.7/,
    );
    await t.close();
  });

  it('serves HTTP routes, as anyone or as a signed-in user', async () => {
    const t = await valetTest({ appDir: app });
    const anon = await t.http('POST', '/echo', { body: 'hi' });
    expect(await anon.json()).toEqual({ body: 'hi', invoker: 'anonymous' });
    expect(await (await t.as(user('ada')).http('POST', '/echo', { body: 'hi' })).json()).toEqual({
      body: 'hi',
      invoker: 'user',
    });
    expect((await t.http('GET', '/nowhere')).status).toBe(404);
    await t.close();
  });

  it('keeps idempotency keys, safeToRetry and sensitive as over HTTP', async () => {
    const t = await valetTest({ appDir: app });
    expect(await t.action('actions:countRun', { label: 'once' }, { idempotencyKey: 'k1' })).toEqual({ label: 'once' });
    expect(await t.action('actions:countRun', { label: 'once' }, { idempotencyKey: 'k1' })).toEqual({ label: 'once' });
    await expect(t.action('actions:countRun', { label: 'other' }, { idempotencyKey: 'k1' })).rejects.toMatchObject({
      code: 'idempotency_key_reused',
      status: 422,
    });
    expect(
      await t.run(
        async (ctx) =>
          (await ctx.db.query('runs').collect()).filter((r: { label: string }) => r.label === 'once').length,
      ),
    ).toBe(1);
    await expect(
      t.action('actions:flaky', { label: 'f', failures: 1 }, { idempotencyKey: 'k2' }),
    ).rejects.toMatchObject({ code: 'handler_error' });
    expect(await t.action('actions:flaky', { label: 'f', failures: 1 }, { idempotencyKey: 'k2' })).toEqual({
      attempts: 2,
    });
    expect(await t.action('actions:rotateSecret', { label: 's' }, { idempotencyKey: 'k3' })).toEqual({
      secret: 's3cret-s',
    });
    await expect(t.action('actions:rotateSecret', { label: 's' }, { idempotencyKey: 'k3' })).rejects.toMatchObject({
      code: 'result_not_retained',
    });
    await t.close();
  });

  it('takes modules explicitly, as import.meta.glob gives them', async () => {
    const { buildAndLoad } = await import('../../src/bundler/evaluate.js');
    const loaded = await buildAndLoad(app);
    const glob = Object.fromEntries(Object.entries(loaded).map(([path, exports]) => [`../valet/${path}.ts`, exports]));
    const t = await valetTest({ modules: { ...glob, '../valet/_generated/valet/api.ts': {} } });
    expect(await t.mutation('users:create', { email: 'glob@example.com' })).toEqual(expect.any(String));
    expect(await t.query('users:emails')).toEqual(['glob@example.com']);
    await t.close();
  });
});

describe('valetTest() with search', () => {
  const searchApp = fixtureApp('search-app', []);
  expect(valet(['codegen'], searchApp).code).toBe(0);

  it('searches on the real engine, with t.run writes and the handler’s own', async () => {
    const t = await valetTest({ appDir: searchApp });
    await t.mutation('messages:send', { body: 'Tests find crème brûlée', channel: 'kitchen' });
    await t.run(async (ctx: any) => {
      await ctx.db.insert('messages', { body: 'brûlée torch', channel: 'kitchen' });
    });
    const found = (await t.query('messages:search', { text: 'brulee', channel: 'kitchen' })) as { body: string }[];
    expect(found.map((message) => message.body)).toEqual(['brûlée torch', 'Tests find crème brûlée']);
    await t.close();
  });
});

describe('valetTest() with files', () => {
  const filesApp = fixtureApp('files-app', []);
  expect(valet(['codegen'], filesApp).code).toBe(0);

  it('puts files in place with t.storage and reads what functions stored', async () => {
    const t = await valetTest({ appDir: filesApp });
    const id = await t.storage.store(new Blob(['hello file']), { contentType: 'text/plain' });
    expect(await t.query('files:metadata', { id })).toMatchObject({
      system: { _id: id, contentType: 'text/plain', size: 10 },
    });
    expect(await t.query('files:urlOf', { id })).toMatch(new RegExp(`/api/storage/${id}\\?sig=`));
    const fromAction = (await t.action('files:storeText', { text: 'from the app' })) as string;
    expect(await (await t.storage.get(fromAction))!.text()).toBe('from the app');
    await t.mutation('files:remove', { id: fromAction });
    expect(await t.storage.get(fromAction)).toBeNull();
    await t.close();
  });
});

describe('t.signIn() through valet/auth', () => {
  const signinApp = fixtureApp('signin-app', []);
  expect(valet(['codegen'], signinApp).code).toBe(0);

  it('signs up with the emailed code and calls as that user with a real token', async () => {
    const t = await valetTest({ appDir: signinApp });
    expect(
      await t.signIn('password', { flow: 'signUp', email: 'ada@example.com', password: 'correct horse battery' }),
    ).toEqual({ started: true });
    const code = /(\d{8})$/.exec(t.outbox().at(-1)!.subject)![1];
    const ada = await t.signIn('password', { flow: 'email-verification', email: 'ada@example.com', code });
    if (ada.started) throw new Error('expected to be signed in');
    const me = (await ada.user.query('me:viewer')) as { userId: string; user: { email: string } };
    expect(me).toMatchObject({ userId: ada.userId, user: { email: 'ada@example.com' } });
    await expect(
      t.signIn('password', { flow: 'signIn', email: 'ada@example.com', password: 'not the password' }),
    ).rejects.toMatchObject({ code: 'invalid_credentials' });
    await t.close();
  });
});
