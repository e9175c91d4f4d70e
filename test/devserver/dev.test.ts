// valet dev in-process: saves reload, broken saves keep the last good build, bursts collapse,
// in-flight calls survive a swap, the schema guards the data, console output is tagged.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDev } from '../../src/devserver/dev.js';
import type { DevEvent, DevServer } from '../../src/devserver/dev.js';
import { fixtureApp, removeTempDirs, REPO_ROOT } from '../helpers/apps.js';
import { freePort } from '../helpers/processes.js';

afterAll(removeTempDirs);

describe('startDev', () => {
  let app: string;
  let dev: DevServer;
  const events: DevEvent[] = [];
  const waiters: { test: (e: DevEvent) => boolean; resolve: (e: DevEvent) => void }[] = [];

  function nextEvent<T extends DevEvent['type']>(
    type: T,
    test: (e: Extract<DevEvent, { type: T }>) => boolean = () => true,
  ): Promise<Extract<DevEvent, { type: T }>> {
    return new Promise((resolve) =>
      waiters.push({ test: (e) => e.type === type && test(e as never), resolve: resolve as never }),
    );
  }

  const post = async (kind: string, path: string, args: object = {}) => {
    const response = await fetch(`${dev.url}/api/${kind}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ path, args }),
    });
    return { status: response.status, body: (await response.json()) as any };
  };
  const edit = (file: string, change: (text: string) => string) =>
    writeFileSync(join(app, file), change(readFileSync(join(app, file), 'utf8')));

  beforeAll(async () => {
    app = fixtureApp('engine-app', ['typescript']);
    mkdirSync(join(app, 'lib'));
    writeFileSync(join(app, 'lib', 'greeting.ts'), "export const greeting = 'hello';\n");
    writeFileSync(
      join(app, 'valet', 'dev.ts'),
      [
        "import { defineAction, defineQuery } from './_generated/valet/api';",
        "import { greeting } from '../lib/greeting';",
        '',
        "export const hello = defineQuery({ access: 'public', handler: async () => greeting });",
        "export const version = defineQuery({ access: 'public', handler: async () => 1 });",
        // Holds until the test releases it (the dev server runs in this process, globalThis is shared).
        "export const slow = defineAction({ access: 'public', handler: async () => { await new Promise((r) => ((globalThis as any).heldCalls ??= []).push(r)); return 'old code'; } });",
        "export const identity = defineQuery({ access: 'public', handler: async (ctx) => ctx.auth.getUserIdentity() });",
        "export const chatty = defineQuery({ access: 'public', handler: async () => { console.log('counting', 3, { ok: true }); console.warn('careful'); return 3; } });",
        '',
      ].join('\n'),
    );
    dev = await startDev({
      appDir: app,
      port: await freePort(),
      typecheck: 'off',
      onEvent: (event) => {
        events.push(event);
        for (const waiter of [...waiters]) {
          if (waiter.test(event)) {
            waiters.splice(waiters.indexOf(waiter), 1);
            waiter.resolve(event);
          }
        }
      },
    });
  });

  afterAll(async () => {
    if (process.env.DEBUG_DEV)
      console.log(
        JSON.stringify(
          events.map((e) => [e.type, (e as { changed?: string[] }).changed, (e as { stage?: string }).stage]),
        ),
      );
    await dev?.close();
  });

  it('starts serving with the first build and sets VALET_DEV=1', async () => {
    expect(events.map((e) => e.type)).toEqual(['reloaded', 'ready']);
    expect(await post('query', 'dev:version')).toEqual({ status: 200, body: { value: 1 } });
    expect(process.env.VALET_DEV).toBe('1');
  });

  it('swaps in the new code on save, reporting what changed and how long it took', async () => {
    const reloaded = nextEvent('reloaded');
    edit('valet/dev.ts', (t) => t.replace('handler: async () => 1 })', 'handler: async () => 2 })'));
    expect(await reloaded).toMatchObject({ changed: ['valet/dev.ts'], ms: expect.any(Number) });
    expect((await post('query', 'dev:version')).body).toEqual({ value: 2 });
  });

  it('watches local files the build imported from outside valet/', async () => {
    // The reload for this save (a late event of an earlier write could come first on a busy machine).
    const reloaded = nextEvent('reloaded', (e) => e.changed.includes('lib/greeting.ts'));
    writeFileSync(join(app, 'lib', 'greeting.ts'), "export const greeting = 'bonjour';\n");
    expect((await reloaded).changed).toEqual(['lib/greeting.ts']);
    expect((await post('query', 'dev:hello')).body).toEqual({ value: 'bonjour' });
  });

  it('re-reads .env files when they change, created, edited or removed, naming the keys and never their values', async () => {
    const envValue = async () => (await post('query', 'parity:envValue', { name: 'DEV_ENV_PROBE' })).body;
    expect(await envValue()).toEqual({ value: null });
    // .env.local did not exist when the server started.
    let changed = nextEvent('env');
    writeFileSync(join(app, '.env.local'), 'DEV_ENV_PROBE=first-secret\n');
    expect(await changed).toEqual({ type: 'env', changed: ['DEV_ENV_PROBE'] });
    await dev.idle();
    expect(await envValue()).toEqual({ value: 'first-secret' });
    changed = nextEvent('env');
    writeFileSync(join(app, '.env.local'), 'DEV_ENV_PROBE=second-secret\nOTHER_PROBE=x\n');
    expect(await changed).toEqual({ type: 'env', changed: ['DEV_ENV_PROBE', 'OTHER_PROBE'] });
    await dev.idle();
    expect(await envValue()).toEqual({ value: 'second-secret' });
    changed = nextEvent('env');
    rmSync(join(app, '.env.local'));
    expect(await changed).toEqual({ type: 'env', changed: ['DEV_ENV_PROBE', 'OTHER_PROBE'] });
    await dev.idle();
    expect(await envValue()).toEqual({ value: null });
    // The values never reach an event (the CLI prints the events).
    expect(JSON.stringify(events)).not.toContain('second-secret');
  });

  it('reads valet/auth.config.ts when it appears, keeps the last good one over a broken one, forgets it when removed', async () => {
    const { exportJWK, generateKeyPair, SignJWT } = await import('jose');
    const pair = await generateKeyPair('RS256');
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'dev-test', alg: 'RS256' };
    const token = await new SignJWT({ name: 'Grace' })
      .setProtectedHeader({ alg: 'RS256', kid: 'dev-test' })
      .setIssuer('https://jwt.example.com')
      .setSubject('grace')
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(pair.privateKey);
    const asGrace = async () =>
      (
        await fetch(`${dev.url}/api/query`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ path: 'dev:identity', args: {} }),
        })
      ).json() as Promise<any>;
    expect((await asGrace()).code).toMatch(/^token_/);
    const jwks = `data:application/json,${encodeURIComponent(JSON.stringify({ keys: [jwk] }))}`;
    const config = (algorithm: string) =>
      `export default { providers: [{ type: 'customJwt', issuer: 'https://jwt.example.com', jwks: ${JSON.stringify(jwks)}, algorithm: '${algorithm}' }] };\n`;
    let reloaded = nextEvent('reloaded', (e) => e.changed.includes('valet/auth.config.ts'));
    writeFileSync(join(app, 'valet', 'auth.config.ts'), config('RS256'));
    await reloaded;
    expect((await asGrace()).value).toMatchObject({
      subject: 'grace',
      name: 'Grace',
      tokenIdentifier: 'https://jwt.example.com|grace',
    });
    const failed = nextEvent('failed');
    writeFileSync(join(app, 'valet', 'auth.config.ts'), config('HS256'));
    expect(await failed).toMatchObject({
      keptServing: true,
      problems: [{ file: 'valet/auth.config.ts', message: expect.stringContaining('providers[0].algorithm') }],
    });
    expect((await asGrace()).value).toMatchObject({ subject: 'grace' });
    reloaded = nextEvent('reloaded', (e) => e.changed.includes('valet/auth.config.ts'));
    rmSync(join(app, 'valet', 'auth.config.ts'));
    await reloaded;
    expect((await asGrace()).code).toMatch(/^token_/);
  });

  it('reports a broken save with file:line and keeps the last good build serving, then recovers', async () => {
    const good = readFileSync(join(app, 'valet/dev.ts'), 'utf8');
    const failed = nextEvent('failed');
    edit('valet/dev.ts', (t) => t.replace('handler: async () => 2 })', 'handler: async () => 2 }))'));
    const failure = await failed;
    expect(failure).toMatchObject({
      stage: 'codegen',
      keptServing: true,
      problems: [{ file: 'valet/dev.ts', line: 5, message: expect.stringContaining('syntax error') }],
    });
    expect((await post('query', 'dev:version')).body).toEqual({ value: 2 });
    const recovered = nextEvent('reloaded');
    writeFileSync(join(app, 'valet/dev.ts'), good.replace('handler: async () => 2 })', 'handler: async () => 3 })'));
    await recovered;
    expect((await post('query', 'dev:version')).body).toEqual({ value: 3 });
  });

  it('names the module and line when a module throws while loading', async () => {
    const failed = nextEvent('failed');
    writeFileSync(join(app, 'valet/explode.ts'), "export const x = 1;\n\nthrow new Error('not today');\n");
    expect(await failed).toMatchObject({
      stage: 'load',
      problems: [{ file: 'valet/explode.ts', line: 3, message: expect.stringContaining('not today') }],
    });
    const recovered = nextEvent('reloaded');
    writeFileSync(join(app, 'valet/explode.ts'), 'export const x = 1;\n');
    await recovered;
  });

  it('turns a burst of saves into one reload', async () => {
    const before = events.filter((e) => e.type === 'reloaded').length;
    const reloaded = nextEvent('reloaded');
    for (let i = 0; i < 5; i++) edit('valet/dev.ts', (t) => `${t}// save ${i}\n`);
    await reloaded;
    await dev.idle();
    // One more save after the burst: a second reload caused by the burst would come before its own.
    const marker = nextEvent('reloaded');
    edit('valet/dev.ts', (t) => `${t}// after the burst\n`);
    await marker;
    await dev.idle();
    expect(events.filter((e) => e.type === 'reloaded').length - before).toBe(2);
  });

  it('lets an in-flight call finish on the old code while the new code takes over', async () => {
    const held = () => ((globalThis as { heldCalls?: (() => void)[] }).heldCalls ??= []);
    const releaseAll = () =>
      held()
        .splice(0)
        .forEach((release) => release());
    // What the call answered, once it has (shown by the poll below if it ends without being held).
    let answered: unknown = null;
    const inFlight = post('action', 'dev:slow');
    void inFlight.then((response) => (answered = response));
    await expect.poll(() => answered ?? held().length, { timeout: 30_000, interval: 10 }).toBe(1);
    edit('valet/dev.ts', (t) =>
      t
        .replace("return 'old code'", "return 'new code'")
        .concat("export const swapped = defineQuery({ access: 'public', handler: async () => true });\n"),
    );
    // The new build is serving once its new query answers (whichever reload event comes first).
    await expect
      .poll(async () => (await post('query', 'dev:swapped')).body, { timeout: 30_000, interval: 20 })
      .toEqual({ value: true });
    // The swap happened while the call was running: it finishes on the code it started with.
    releaseAll();
    expect((await inFlight).body).toEqual({ value: 'old code' });
    const next = post('action', 'dev:slow');
    await expect.poll(() => held().length, { timeout: 30_000, interval: 10 }).toBe(1);
    releaseAll();
    expect((await next).body).toEqual({ value: 'new code' });
  });

  it('refuses a schema change that stored documents violate, naming them', async () => {
    const { body } = await post('mutation', 'users:create', { email: 'kept@example.com' });
    const failed = nextEvent('failed');
    edit('valet/schema.ts', (t) =>
      t.replace('users: defineTable({ email: v.string(),', 'users: defineTable({ email: v.number(),'),
    );
    const failure = await failed;
    expect(failure.stage).toBe('schema');
    expect(failure.problems[0]!.message).toContain(
      `table users: 1 document do not match, e.g. ${body.value} (document.email: expected number, got string)`,
    );
    expect((await post('query', 'users:byEmail', { email: 'kept@example.com' })).status).toBe(200);
    const recovered = nextEvent('reloaded');
    edit('valet/schema.ts', (t) =>
      t.replace('users: defineTable({ email: v.number(),', 'users: defineTable({ email: v.string(),'),
    );
    await recovered;
  });

  it('tags console output with the function and invocation, and appends it to .valet/logs.ndjson', async () => {
    const logged = nextEvent('log');
    await post('query', 'dev:chatty');
    expect(await logged).toMatchObject({
      entry: {
        level: 'log',
        function: 'dev:chatty',
        invocation: expect.any(String),
        message: 'counting 3 { ok: true }',
      },
    });
    const lines = readFileSync(join(app, '.valet/logs.ndjson'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    // Its lines, then how the call ended (for valet logs and the dashboard), all under one call id.
    expect(lines.slice(-3).map((l) => [l.level, l.function, l.message, l.outcome])).toEqual([
      ['log', 'dev:chatty', 'counting 3 { ok: true }', undefined],
      ['warn', 'dev:chatty', 'careful', undefined],
      ['info', 'dev:chatty', expect.stringMatching(/^ok \([\d.]+ ms\)$/), 'ok'],
    ]);
    expect(new Set(lines.slice(-3).map((l) => l.call)).size).toBe(1);
  });
});

describe('startDev options', () => {
  it('--once builds, generates, applies the schema and returns without serving', async () => {
    const app = fixtureApp('engine-app', []);
    const events: DevEvent[] = [];
    const dev = await startDev({ appDir: app, port: 1, once: true, typecheck: 'off', onEvent: (e) => events.push(e) });
    expect(dev.url).toBeNull();
    expect(events.map((e) => e.type)).toEqual(['reloaded']);
    expect(readFileSync(join(app, 'valet/_generated/valet/api.ts'), 'utf8')).toContain('functionRef(');
  });

  it('--typecheck makes a type error block the reload', async () => {
    const app = fixtureApp('engine-app', ['typescript', '@types/node']);
    writeFileSync(join(app, 'tsconfig.json'), readFileSync(join(REPO_ROOT, 'templates/basic/tsconfig.json'), 'utf8'));
    const events: DevEvent[] = [];
    writeFileSync(
      join(app, 'valet/typed.ts'),
      "import { defineQuery } from './_generated/valet/api';\nexport const q = defineQuery({ access: 'public', handler: async () => { const n: number = 'x'; return n; } });\n",
    );
    await expect(
      startDev({ appDir: app, port: 1, once: true, typecheck: 'blocking', onEvent: (e) => events.push(e) }),
    ).rejects.toThrow('did not build');
    expect(events).toEqual([
      expect.objectContaining({
        type: 'failed',
        stage: 'types',
        problems: [expect.objectContaining({ file: 'valet/typed.ts', line: 2 })],
      }),
    ]);
  });
  it('reports a type error in the background without blocking the reload, and ends its tsc on close', async () => {
    const app = fixtureApp('engine-app', ['typescript', '@types/node']);
    writeFileSync(join(app, 'tsconfig.json'), readFileSync(join(REPO_ROOT, 'templates/basic/tsconfig.json'), 'utf8'));
    writeFileSync(
      join(app, 'valet/typed.ts'),
      "import { defineQuery } from './_generated/valet/api';\nexport const q = defineQuery({ access: 'public', handler: async () => { const n: number = 'x'; return n; } });\n",
    );
    let reportTypes: (errors: unknown) => void = () => undefined;
    const types = new Promise((resolve) => (reportTypes = resolve));
    const dev = await startDev({
      appDir: app,
      port: await freePort(),
      onEvent: (e) => {
        if (e.type === 'types') reportTypes(e.errors);
      },
    });
    try {
      // Served while the type check runs (or after): the error does not block the build.
      const response = await fetch(`${dev.url}/api/query`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ path: 'typed:q', args: {} }),
      });
      expect(await response.json()).toEqual({ value: 'x' });
      expect(await types).toEqual([expect.objectContaining({ file: 'valet/typed.ts', line: 2 })]);
    } finally {
      await dev.close();
    }
  });
});

describe('a dev server whose first build fails', () => {
  it('answers live queries made meanwhile with app_not_ready, then with results once the app builds', async () => {
    const { ValetClient } = await import('../../src/client/index.js');
    const { functionRef } = await import('../../src/server/index.js');
    const { WebSocket } = await import('ws');
    const app = fixtureApp('engine-app', []);
    const users = join(app, 'valet/users.ts');
    const good = readFileSync(users, 'utf8');
    writeFileSync(users, `${good}\nexport const broken = ;\n`);
    const events: DevEvent[] = [];
    const dev = await startDev({
      appDir: app,
      port: await freePort(),
      typecheck: 'off',
      quietMs: 5,
      onEvent: (e) => events.push(e),
    });
    const client = new ValetClient(dev.url!, { WebSocket: WebSocket as never, reconnectDelayMs: 20 });
    try {
      expect(events[0]).toMatchObject({ type: 'failed', stage: 'codegen', keptServing: false });
      const seen: { value?: unknown; error?: string }[] = [];
      client.subscribe(functionRef('users:emails', 'query', { access: 'public' }), {}, (value, error) =>
        seen.push(error ? { error: error.code } : { value }),
      );
      await expect.poll(() => seen.at(-1)).toEqual({ error: 'app_not_ready' });
      writeFileSync(users, good);
      await expect.poll(() => seen.at(-1), { timeout: 30_000 }).toEqual({ value: [] });
    } finally {
      client.close();
      await dev.close();
    }
  });
});
