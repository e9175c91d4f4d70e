// The activity log: every call of every kind leaves a record with its caller, duration, outcome,
// log lines and parent, in memory (valet dev) or in the database (valet start, every instance);
// a scheduled action, a cron run and a route's mutation each name the call that caused them.
import { afterAll, describe, expect, it } from 'vitest';
import { buildAndLoad } from '../../src/bundler/evaluate.js';
import { BundleMaps } from '../../src/bundler/stack-map.js';
import { prometheusText } from '../../src/runtime/calls/prometheus.js';
import type { CallRecord } from '../../src/runtime/calls/record.js';
import { createEngine } from '../../src/runtime/engine.js';
import { removeTempDirs } from '../helpers/apps.js';
import { testDatabase } from '../helpers/database.js';
import { engineFor, ManualClock } from '../helpers/engine.js';

afterAll(removeTempDirs);

const resolve = async (hostname: string) => {
  if (hostname !== 'hooks.example.com') throw Object.assign(new Error(`ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
  return ['93.184.216.34'];
};
const fetched: string[] = [];
const respondToFetch = async (request: Request) => {
  fetched.push(request.url);
  return new Response('ok', { status: 202 });
};

/** The app with stacks mapped to valet/ files, as valet dev and valet start map them. */
async function callsApp(options: Parameters<typeof engineFor>[1] = {}) {
  const clock = new ManualClock();
  let maps: BundleMaps | null = null;
  const describeError = (error: unknown) => {
    const stack = error instanceof Error ? (error.stack ?? error.message) : String(error);
    return maps ? maps.rewriteStack(stack) : stack;
  };
  const app = await engineFor('calls-app', { clock, resolve, respondToFetch, describeError, ...options });
  maps = new BundleMaps(app.app);
  await app.engine.replaceModules(await buildAndLoad(app.app, maps));
  return { ...app, clock };
}

function byPath(calls: CallRecord[], path: string): CallRecord {
  const found = calls.find((c) => c.path === path);
  if (!found) throw new Error(`no call of ${path} in ${calls.map((c) => c.path).join(', ')}`);
  return found;
}

for (const store of ['memory', 'database'] as const) {
  describe(`the activity log (${store})`, async () => {
    const { engine, call, value, logs } = await callsApp({ calls: { store } });

    it('records a failed mutation with its code, message and caller, and logs one line for a ValetError', async () => {
      const response = await call('mutation', 'todos:add', { text: '  ' });
      expect(response.status).toBe(500);
      const [failed] = await engine.calls.list({ path: 'todos:add', outcome: 'error' });
      expect(failed).toMatchObject({
        kind: 'mutation',
        path: 'todos:add',
        outcome: 'error',
        caller: 'anonymous',
        parent: null,
        error: { code: 'application_error', message: 'text is required' },
      });
      expect(failed!.durationMs).toBeGreaterThanOrEqual(0);
      expect(failed!.root).toBe(failed!.id);
      const lines = logs.filter((line) => line.includes('todos:add'));
      expect(lines).toEqual([
        expect.stringMatching(/^todos:add threw ValetError: text is required \(valet\/todos\.ts:\d+:\d+\)$/),
      ]);
    });

    it("keeps a handler's real error and mapped stack, whatever the caller was shown", async () => {
      const response = await call('mutation', 'todos:broken');
      expect(response.body).toMatchObject({ code: 'handler_error', message: expect.not.stringContaining('broke') });
      const [broken] = await engine.calls.list({ path: 'todos:broken' });
      expect(broken!.error).toMatchObject({ code: 'handler_error', message: 'something broke' });
      expect(broken!.error!.stack).toContain('valet/todos.ts');
      expect(broken!.error!.at).toMatchObject({ file: 'valet/todos.ts', line: expect.any(Number) });
    });

    it("records a query's console lines on its call", async () => {
      await value('query', 'todos:list');
      const [listed] = await engine.calls.list({ path: 'todos:list', kind: 'query' });
      expect(listed).toMatchObject({
        outcome: 'ok',
        logs: [expect.objectContaining({ level: 'log', message: 'listing todos' })],
      });
    });

    it('links a mutation, the action it scheduled, and what that action ran, fetched and enqueued', async () => {
      const id = await value(
        'mutation',
        'todos:add',
        { text: 'milk' },
        { invoker: { type: 'user', userId: 'ada', claims: {} } },
      );
      await engine.scheduled.round();
      await expect.poll(async () => (await engine.calls.list({ path: 'todos:notify', outcome: 'ok' })).length).toBe(1);
      const [added] = await engine.calls.list({ path: 'todos:add', outcome: 'ok' });
      expect(added).toMatchObject({ caller: 'user:ada', logs: [expect.objectContaining({ message: 'adding milk' })] });
      expect(added!.events).toEqual([expect.objectContaining({ type: 'schedule', detail: 'action todos:notify' })]);
      const trace = await engine.calls.trace(added!.root);
      const notify = byPath(trace, 'todos:notify');
      const note = byPath(trace, 'todos:note');
      expect(notify).toMatchObject({
        kind: 'action',
        source: 'scheduler',
        parent: added!.id,
        caller: 'system:scheduler',
      });
      expect(notify.invocation).toEqual(expect.any(String));
      expect(note).toMatchObject({ kind: 'mutation', source: 'function', parent: notify.id, root: added!.id });
      expect(notify.events.map((e) => [e.type, e.detail, e.status])).toEqual([
        // The query string (a secret here) is never kept.
        ['fetch', 'POST https://hooks.example.com/todo', 202],
        ['email', `Todo ${id}`, undefined],
      ]);
      expect(JSON.stringify(trace)).not.toContain('s3cr3t');
      expect(notify.logs.map((l) => l.message)).toEqual(['notified']);
    });

    it('records a cron run as a call of its own, parent of the function it ran', async () => {
      await engine.crons.trigger('nightly summary');
      await expect.poll(async () => (await engine.calls.list({ path: 'todos:nightly' })).length).toBe(1);
      const [nightly] = await engine.calls.list({ path: 'todos:nightly' });
      const [tick] = await engine.calls.list({ kind: 'cron' });
      expect(tick).toMatchObject({ path: 'nightly summary', outcome: 'ok', caller: 'system:admin' });
      expect(nightly).toMatchObject({ parent: tick!.id, root: tick!.id, source: 'cron', outcome: 'ok' });
      expect(nightly!.logs.map((l) => l.message)).toEqual(['nightly summary']);
    });

    it('records HTTP routes and the mutations they run; a throwing route is an error with its stack', async () => {
      const ok = await engine.handleHttp(
        new Request('http://localhost/http/hook', { method: 'POST', body: 'hi' }),
        '/hook',
      );
      expect(ok.status).toBe(200);
      const failed = await engine.handleHttp(
        new Request('http://localhost/http/hook', { method: 'POST', body: 'boom' }),
        '/hook',
      );
      expect(failed.status).toBe(500);
      const routes = await engine.calls.list({ kind: 'http' });
      expect(routes.map((r) => [r.path, r.outcome])).toEqual([
        ['POST /http/hook', 'error'],
        ['POST /http/hook', 'ok'],
      ]);
      expect(routes[0]!.error).toMatchObject({
        message: 'hook broke',
        stack: expect.stringContaining('valet/http.ts'),
      });
      const trace = await engine.calls.trace(routes[1]!.root);
      expect(byPath(trace, 'todos:note').parent).toBe(routes[1]!.id);
    });

    it('filters by caller, kind, outcome and time, newest first', async () => {
      expect((await engine.calls.list({ caller: 'user' })).every((c) => c.caller.startsWith('user:'))).toBe(true);
      expect((await engine.calls.list({ caller: 'user:ada' })).length).toBeGreaterThan(0);
      const all = await engine.calls.list({ limit: 1000 });
      const times = all.map((c) => c.startedAt);
      expect(times).toEqual([...times].sort((a, b) => b - a));
      expect(await engine.calls.list({ since: Math.max(...times) + 1 })).toEqual([]);
      expect(new Set(all.map((c) => c.id)).size).toBe(all.length);
    });

    it('counts calls, errors and durations per function, in Prometheus text too', () => {
      const add = engine.metrics.summary().find((s) => s.path === 'todos:add')!;
      expect(add).toMatchObject({ kind: 'mutation', calls: 2, errors: 1 });
      expect(add.p50Ms).toBeGreaterThan(0);
      expect(add.minutes).toHaveLength(1);
      const text = prometheusText(engine.metrics, new Map([['todos:list', 3]]));
      expect(text).toContain('valet_function_calls_total{function="todos:add",kind="mutation"} 2');
      expect(text).toContain('valet_function_errors_total{function="todos:add",kind="mutation"} 1');
      expect(text).toMatch(
        /valet_function_duration_seconds\{function="todos:add",kind="mutation",quantile="0\.99"\} [\d.e-]+/,
      );
      expect(text).toContain('valet_query_subscriptions{function="todos:list"} 3');
    });
  });
}

describe('the activity log across instances (database store)', () => {
  it('reads every instance’s calls with ids unique across them', async () => {
    const first = await callsApp({ calls: { store: 'database' } });
    const others = await Promise.all(
      [0, 1].map(async () =>
        createEngine({
          modules: await buildAndLoad(first.app),
          ...testDatabase(first.stateDir),
          env: {},
          log: () => undefined,
          clock: first.clock,
          calls: { store: 'database' },
        }),
      ),
    );
    const engines = [first.engine, ...others];
    await Promise.all(
      engines.flatMap((engine) =>
        Array.from({ length: 40 }, () =>
          engine.call({ kind: 'query', path: 'todos:list', args: {}, invoker: { type: 'anonymous' }, external: true }),
        ),
      ),
    );
    for (const engine of others) await engine.calls.flush();
    const seen = await first.engine.calls.list({ path: 'todos:list', limit: 1000 });
    expect(seen).toHaveLength(120);
    expect(new Set(seen.map((c) => c.id)).size).toBe(120);
    await Promise.all(others.map((engine) => engine.close()));
  });
});

describe('sampling', () => {
  it('keeps every failure and no successful call at rate 0; metrics still count them all', async () => {
    const { engine, call } = await callsApp({ calls: { store: 'memory', sampleRate: 0 } });
    await call('query', 'todos:list');
    await call('mutation', 'todos:broken');
    expect((await engine.calls.list()).map((c) => c.path)).toEqual(['todos:broken']);
    expect(engine.metrics.summary().find((s) => s.path === 'todos:list')!.calls).toBe(1);
  });

  it('keeps the newest calls in a ring of the configured size', async () => {
    const { engine, call } = await callsApp({ calls: { store: 'memory', ringSize: 5 } });
    for (let i = 0; i < 8; i++) await call('query', 'todos:list');
    expect(await engine.calls.list({ limit: 100 })).toHaveLength(5);
  });
});
