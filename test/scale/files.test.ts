// Stored files across three `valet start` processes on one PostgreSQL database, with the bytes in
// the database (its default there): a file uploaded through one instance is served by another,
// with the same URL, and deleted through the third, after which no instance serves it; an upload
// URL made by one instance is taken by another, once; and a live query on one instance over
// `_storage` hears of an upload made through another.
import { WebSocket } from 'ws';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ValetClient } from '../../src/client/index.js';
import { functionRef } from '../../src/server/index.js';
import { fixtureApp, removeTempDirs, valet } from '../helpers/apps.js';
import { startInstance, value } from '../helpers/instances.js';
import type { Instance } from '../helpers/instances.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { killAll } from '../helpers/processes.js';

let database: { url: string; drop(): Promise<void> };
let instances: Instance[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  const app = fixtureApp('files-app');
  expect(valet(['codegen'], app).code).toBe(0);
  const env = { VALET_DATABASE_URL: database.url, VALET_HEARTBEAT_MS: '200', VALET_INSTANCE_TTL_MS: '2000' };
  instances = await Promise.all([startInstance(app, env), startInstance(app, env), startInstance(app, env)]);
});

afterAll(async () => {
  killAll();
  await database?.drop();
  removeTempDirs();
});

it('serves a file uploaded through one instance from another, and deletes it through the third', async () => {
  const [a, b, c] = instances.map((instance) => instance.url) as [string, string, string];
  expect(instances[0]!.process.output()).toMatch(/files in postgres/);
  const client = new ValetClient(b, { WebSocket: WebSocket as never });
  const seen: string[][] = [];
  const stop = client.subscribe(functionRef('files:all', 'query', { access: 'public' }), {}, (files) => {
    if (files) seen.push((files as { _id: string }[]).map((file) => file._id));
  });
  await expect.poll(() => seen.length).toBeGreaterThan(0);

  // The upload URL made by A, used through B (the path is the same on every instance).
  const madeByA = new URL(await value(a, 'mutation', 'files:generateUploadUrl'));
  const throughB = `${b}${madeByA.pathname}${madeByA.search}`;
  const bytes = new Uint8Array(700_000).map((_, i) => (i * 31) % 256);
  const uploaded = await fetch(throughB, { method: 'POST', headers: { 'content-type': 'image/png' }, body: bytes });
  expect(uploaded.status).toBe(200);
  const { storageId } = (await uploaded.json()) as { storageId: string };
  // Used once, whichever instance is asked next.
  expect((await fetch(`${c}${madeByA.pathname}${madeByA.search}`, { method: 'POST', body: 'x' })).status).toBe(403);
  await expect.poll(() => seen.at(-1)?.includes(storageId)).toBe(true);

  // Served by each instance, the same bytes and ETag, ranges included.
  const fileUrl = new URL(await value(c, 'query', 'files:urlOf', { id: storageId }));
  for (const base of [a, b, c]) {
    const served = await fetch(`${base}${fileUrl.pathname}${fileUrl.search}`);
    expect(served.status).toBe(200);
    expect(new Uint8Array(await served.arrayBuffer())).toEqual(bytes);
    const part = await fetch(`${base}${fileUrl.pathname}${fileUrl.search}`, {
      headers: { range: 'bytes=262140-262150' },
    });
    expect(part.status).toBe(206);
    expect(new Uint8Array(await part.arrayBuffer())).toEqual(bytes.subarray(262140, 262151));
  }

  await value(c, 'mutation', 'files:remove', { id: storageId });
  for (const base of [a, b, c]) expect((await fetch(`${base}${fileUrl.pathname}${fileUrl.search}`)).status).toBe(404);
  await expect.poll(() => seen.at(-1)?.includes(storageId)).toBe(false);
  stop();
  client.close();
});
