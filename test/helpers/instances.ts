// Several `valet start` processes of one app on one PostgreSQL database (the built CLI, real
// processes), for the scale-out tests.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixtureApp, valet } from './apps.js';
import { freePort, spawnValet } from './processes.js';
import type { RunningValet } from './processes.js';

export interface Instance {
  url: string;
  port: number;
  process: RunningValet;
  pid: number;
}

/** The engine-app fixture, with a job every second added to its crons. */
export function scaleApp(): string {
  const app = fixtureApp('engine-app');
  writeFileSync(
    join(app, 'valet/crons.ts'),
    `import { api, cronJobs } from './_generated/valet/api';\n\nexport default cronJobs().interval('every-second', { seconds: 1 }, api.jobs.tick, { job: 'every-second' });\n`,
  );
  const codegen = valet(['codegen'], app);
  if (codegen.code !== 0) throw new Error(`valet codegen exited ${codegen.code}: ${codegen.stderr}`);
  return app;
}

export async function startInstance(app: string, env: NodeJS.ProcessEnv): Promise<Instance> {
  const port = await freePort();
  const process = spawnValet(['start', '--port', String(port)], app, env);
  const url = (await process.waitFor(/Valet serving \d+ functions at (http:\/\/127\.0\.0\.1:\d+)/, 30_000))[1]!;
  // Ready once its background work runs (it took over what dead instances left).
  for (let i = 0; i < 200; i++) {
    if ((await fetch(`${url}/api/ready`)).status === 200) break;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return { url, port, process, pid: process.child.pid! };
}

export async function call(
  url: string,
  kind: 'query' | 'mutation' | 'action',
  path: string,
  args: object = {},
): Promise<{ status: number; body: any }> {
  const response = await fetch(`${url}/api/${kind}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ path, args }),
  });
  return { status: response.status, body: await response.json() };
}

export async function value(
  url: string,
  kind: 'query' | 'mutation' | 'action',
  path: string,
  args: object = {},
): Promise<any> {
  const { status, body } = await call(url, kind, path, args);
  if (status !== 200) throw new Error(`${path} → ${status} ${JSON.stringify(body)}`);
  return body.value;
}

export async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
