// No configured secret and no URL query string leaves `valet start` by way of an error: not in an
// answer, not in a line the server prints, not in .valet/logs.ndjson, not in the invocation log
// (every byte under .valet is searched once the server has stopped).
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkDependencies, removeTempDirs, tempDir, valet } from '../helpers/apps.js';
import { freePort, killAll, spawnValet } from '../helpers/processes.js';
import type { RunningValet } from '../helpers/processes.js';

afterAll(() => {
  killAll();
  removeTempDirs();
});

const API_KEY = 'sk_live_5f3a9c2e7b1d4068';
const DATABASE_PASSWORD = 'hunter2-correct-horse';
const LEAKY = `import { defineAction } from './_generated/valet/api';

// Calls a vendor on a private address with its key in the query string: the guard refuses it.
export const callVendor = defineAction({
  access: 'public',
  handler: async () => (await fetch('http://10.0.0.7/v1/charge?api_key=' + process.env.VENDOR_API_KEY + '&amount=5')).status,
});

// Puts the secrets into its own error and its own log line.
export const failLoudly = defineAction({
  access: 'public',
  handler: async () => {
    console.log('calling the vendor with', process.env.VENDOR_API_KEY, process.env.REPORTS_URL);
    throw new Error('vendor refused key ' + process.env.VENDOR_API_KEY + ' for ' + process.env.REPORTS_URL);
  },
});
`;

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

describe('valet start keeps secrets out of errors', () => {
  let app: string;
  let server: RunningValet;
  let url: string;

  beforeAll(async () => {
    const parent = tempDir();
    expect(valet(['init', 'shop', '--template', 'basic', '--yes', '--no-install'], parent).code).toBe(0);
    app = join(parent, 'shop');
    linkDependencies(app);
    writeFileSync(join(app, 'valet/leaky.ts'), LEAKY);
    server = spawnValet(['start', '--port', String(await freePort())], app, {
      VENDOR_API_KEY: API_KEY,
      REPORTS_URL: `postgres://reports:${DATABASE_PASSWORD}@reports.internal/db`,
    });
    url = (await server.waitFor(/Valet serving \d+ functions at (http:\/\/127\.0\.0\.1:\d+)/))[1]!;
  });

  afterAll(() => server?.stop('SIGKILL'));

  const call = async (path: string) => {
    const response = await fetch(`${url}/api/action`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ path, args: {} }),
    });
    return { status: response.status, text: await response.text() };
  };

  it('answers a refused fetch without the URL, its query or the key', async () => {
    const answer = await call('leaky:callVendor');
    expect(answer.status).toBe(500);
    for (const leak of [API_KEY, 'api_key', '/v1/charge', 'amount=5']) expect(answer.text).not.toContain(leak);
    expect(JSON.parse(answer.text)).toMatchObject({ code: 'fetch_blocked' });
  });

  it("answers a function's own error without the secrets it holds", async () => {
    const answer = await call('leaky:failLoudly');
    expect(answer.status).toBe(500);
    expect(answer.text).not.toContain(API_KEY);
    expect(answer.text).not.toContain(DATABASE_PASSWORD);
  });

  it('leaves neither secret nor query in what the server printed or stored', async () => {
    // The server did see both calls: their invocations are in its output.
    await server.waitFor(/failLoudly/);
    expect(await server.stop('SIGINT')).toBe(0);
    for (const leak of [API_KEY, DATABASE_PASSWORD, 'api_key']) expect(server.output()).not.toContain(leak);
    const stored = filesUnder(join(app, '.valet'));
    expect(stored.some((path) => path.endsWith('logs.ndjson'))).toBe(true);
    for (const path of stored) {
      const bytes = readFileSync(path);
      for (const leak of [API_KEY, DATABASE_PASSWORD, 'api_key='])
        expect(bytes.includes(leak), `${leak} in ${path}`).toBe(false);
    }
    // What was printed and stored still says what happened, with the secrets replaced.
    expect(readFileSync(join(app, '.valet/logs.ndjson'), 'utf8')).toContain('[VENDOR_API_KEY redacted]');
  });
});
