// Three `valet start` processes behind a real nginx (docs/deploy.md's configuration), clients
// on real WebSockets: a subscriber on one instance sees a mutation made on another; a client's
// offline queue, replayed to another instance after the first is killed, applies exactly once and
// in order; an instance stopped with SIGTERM under load fails no call it accepted, exits 0, and
// its clients carry on through another instance.
import { request } from 'node:http';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValetClient } from '../../src/client/index.js';
import { functionRef } from '../../src/server/index.js';
import { removeTempDirs } from '../helpers/apps.js';
import { call, scaleApp, startInstance, value, waitUntil } from '../helpers/instances.js';
import type { Instance } from '../helpers/instances.js';
import { startNginx } from '../helpers/nginx.js';
import type { Nginx } from '../helpers/nginx.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { killAll } from '../helpers/processes.js';
import { switchProxy } from '../helpers/switch-proxy.js';

const ref = {
  create: functionRef('users:create', 'mutation', { access: 'public' }),
  emails: functionRef('users:emails', 'query', { access: 'public' }),
};

let database: { url: string; drop(): Promise<void> };
let instances: Instance[] = [];
let nginx: Nginx;
const clients: ValetClient[] = [];

/**
 * A mutation on a connection of its own (no keep-alive): a load balancer reloading closes idle
 * kept-alive client connections, and a request racing that close never reached any server.
 */
function mutateOnce(url: string, path: string, args: object): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ path, args });
    const req = request(
      `${url}/api/mutation`,
      {
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let text = '';
        res.on('data', (chunk) => (text += chunk));
        // nginx's own error pages are HTML: kept as text, so the assertion shows them instead of crashing.
        res.on('end', () => {
          try {
            resolve({ status: res.statusCode!, body: JSON.parse(text) });
          } catch {
            resolve({ status: res.statusCode!, body: text });
          }
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function client(url: string): ValetClient {
  const c = new ValetClient(url, { WebSocket: WebSocket as never, reconnectDelayMs: 50 });
  clients.push(c);
  return c;
}

/** The latest value of a subscription, kept current. */
function watch(c: ValetClient) {
  const state = { emails: [] as string[], updates: 0 };
  c.subscribe(ref.emails as never, {} as never, (value) => {
    state.emails = value as string[];
    state.updates++;
  });
  return state;
}

beforeAll(async () => {
  database = await createTestDatabase();
  const app = scaleApp();
  const env = {
    VALET_DATABASE_URL: database.url,
    VALET_HEARTBEAT_MS: '200',
    VALET_INSTANCE_TTL_MS: '1500',
    VALET_SHUTDOWN_GRACE_MS: '10000',
  };
  instances = await Promise.all([0, 1, 2].map(() => startInstance(app, env)));
  nginx = await startNginx(instances.map((i) => i.port));
}, 120_000);

afterAll(async () => {
  clients.forEach((c) => c.close());
  await nginx?.stop();
  await Promise.all(instances.map((instance) => instance.process.stop('SIGINT')));
  killAll();
  await database?.drop();
  removeTempDirs();
});

describe('behind a load balancer', () => {
  it('answers through nginx, from every instance', async () => {
    const ready = await Promise.all(
      Array.from(
        { length: 9 },
        async () => (await (await fetch(`${nginx.url}/api/ready`)).json()) as { instance: string },
      ),
    );
    expect(new Set(ready.map((r) => r.instance)).size).toBe(3);
  });

  it('delivers a mutation made on one instance to a subscriber on another', async () => {
    const subscriber = watch(client(instances[1]!.url));
    await waitUntil(() => subscriber.updates > 0, 10_000, 'the first result');
    await value(instances[0]!.url, 'mutation', 'users:create', { email: 'made-on-a@example.com' });
    await waitUntil(() => subscriber.emails.includes('made-on-a@example.com'), 10_000, 'the update on B');
    // And through nginx, wherever each connection lands.
    const viaNginx = watch(client(nginx.url));
    await waitUntil(() => viaNginx.updates > 0, 10_000, 'the first result through nginx');
    await value(nginx.url, 'mutation', 'users:create', { email: 'through-nginx@example.com' });
    await waitUntil(
      () =>
        viaNginx.emails.includes('through-nginx@example.com') &&
        subscriber.emails.includes('through-nginx@example.com'),
      10_000,
      'the update everywhere',
    );
  });

  it('replays a queue written offline to another instance after the first is killed, once and in order', async () => {
    const [a, , c] = instances as [Instance, Instance, Instance];
    const proxy = await switchProxy(a.port);
    const offline = client(proxy.url);
    const seen = watch(offline);
    await waitUntil(() => seen.updates > 0, 10_000, 'the client on A');
    await offline.mutation(ref.create as never, { email: 'queue-0@example.com' } as never);
    // Offline: nothing reaches any server; the client queues.
    proxy.target = null;
    proxy.cut();
    const queued = [1, 2, 3, 4].map((i) =>
      offline.mutation(ref.create as never, { email: `queue-${i}@example.com` } as never),
    );
    a.process.child.kill('SIGKILL');
    await a.process.exited;
    // Back online, through another instance.
    proxy.target = c.port;
    await Promise.all(queued);
    const emails = (await value(c.url, 'query', 'users:emails')) as string[];
    const mine = emails.filter((e) => e.startsWith('queue-'));
    expect(mine).toEqual([
      'queue-0@example.com',
      'queue-1@example.com',
      'queue-2@example.com',
      'queue-3@example.com',
      'queue-4@example.com',
    ]);
    await proxy.close();
    instances = instances.slice(1);
  });

  it('stops an instance with SIGTERM under load: no accepted call fails, it exits 0, its clients move on', async () => {
    const [b, c] = instances as [Instance, Instance];
    // A client whose connection the "load balancer" (a switchable proxy) gave to B.
    const balancer = await switchProxy(b.port);
    const movedClient = client(balancer.url);
    const transitions: string[] = [];
    movedClient.onConnectionChange((connected) => transitions.push(`${connected} ${Date.now()}`));
    const moved = watch(movedClient);
    await waitUntil(() => moved.updates > 0, 10_000, 'the client on B');
    let sent = 0;
    let stop = false;
    const failures: string[] = [];
    const succeeded: string[] = [];
    /** Calls made straight to B that failed: B must not have applied any of them (it never accepted them). */
    const notAccepted: string[] = [];
    const load = async (url: string) => {
      while (!stop) {
        const email = `load-${++sent}@example.com`;
        try {
          const response =
            url === nginx.url
              ? await mutateOnce(url, 'users:create', { email })
              : await call(url, 'mutation', 'users:create', { email });
          if (response.status === 200) succeeded.push(email);
          else failures.push(`${url} ${response.status} ${JSON.stringify(response.body)}`);
        } catch (error) {
          // Refused, or an idle keep-alive connection closed under the request: B never read it.
          if (url !== b.url) failures.push(`${url} ${String((error as Error).cause ?? error)}`);
          else {
            notAccepted.push(email);
            return;
          }
        }
      }
    };
    const loaders = [load(nginx.url), load(nginx.url), load(b.url), load(c.url)];
    // Traffic is flowing through the balancer and straight to B before B is taken out.
    await waitUntil(() => succeeded.length >= 30, 60_000, 'the first answers under load');
    // The deploy procedure (docs/deploy.md): take B out of the load balancer, then SIGTERM it.
    // New connections go elsewhere from now on; B finishes what it accepted.
    balancer.target = c.port;
    await nginx.reload([c.port]);
    b.process.child.kill('SIGTERM');
    expect(await b.process.exited).toBe(0);
    // The load goes on a while after B is gone: C answers what the balancer sends.
    const afterB = succeeded.length;
    await waitUntil(() => succeeded.length >= afterB + 30, 60_000, 'answers after B stopped');
    stop = true;
    await Promise.all(loaders);
    expect(failures).toEqual([]);
    expect(succeeded.length).toBeGreaterThan(50);
    const stored = new Set((await value(c.url, 'query', 'users:emails')) as string[]);
    for (const email of succeeded) expect(stored.has(email), `${email} answered 200 but is not stored`).toBe(true);
    for (const email of notAccepted) expect(stored.has(email), `${email} failed but was applied`).toBe(false);
    // B closed its WebSockets with "going away": the client reconnected (to C) and its live query goes on.
    const afterwards = watch(client(nginx.url));
    await waitUntil(
      () => afterwards.updates > 0,
      15_000,
      'the first result of a new client through nginx after the SIGTERM',
    );
    await value(nginx.url, 'mutation', 'users:create', { email: 'after-sigterm@example.com' });
    try {
      await waitUntil(
        () => afterwards.emails.includes('after-sigterm@example.com'),
        15_000,
        'an update through nginx after the SIGTERM',
      );
    } catch (error) {
      throw new Error(
        `${(error as Error).message} (${afterwards.updates} updates); C said:\n${c.process.output().slice(-3000)}`,
      );
    }
    await waitUntil(
      () => moved.emails.includes('after-sigterm@example.com'),
      10_000,
      `the moved client's update (${moved.updates} updates, last ${moved.emails.length} emails, ${transitions.join(', ')})`,
    );
    await balancer.close();
    instances = [c];
  });
});
