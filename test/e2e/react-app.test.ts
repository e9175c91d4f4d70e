// The react template type-checks and builds with Vite, and the generated api it imports
// carries no server code into the browser bundle.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { removeTempDirs, run } from '../helpers/apps.js';
import { initInstalledApp } from '../helpers/npm-cache.js';

afterAll(removeTempDirs);

it('a new react app installs offline, passes valet check and builds', async () => {
  const app = await initInstalledApp('react', 'web');

  const check = await run(process.execPath, [join(app, 'node_modules/.bin/valet'), 'check'], app);
  expect(check.code, check.stderr).toBe(0);

  const build = await run(process.execPath, [join(app, 'node_modules/vite/bin/vite.js'), 'build'], app);
  expect(build.code, build.stderr).toBe(0);
  const assets = join(app, 'dist/assets');
  const bundle = readdirSync(assets)
    .filter((name) => name.endsWith('.js'))
    .map((name) => readFileSync(join(assets, name), 'utf8'))
    .join('\n');
  expect(bundle).toContain('actions:sendWelcomeEmail');
  expect(bundle).not.toMatch(/from\s*["']node:|require\(["']node:/);
});
