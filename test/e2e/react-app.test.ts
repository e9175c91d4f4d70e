// The react template type-checks and builds with Vite (linked to this checkout, which needs
// Vite's dedupe to keep one React), and the generated api carries no server code into the bundle.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { linkedTemplateApp, removeTempDirs, run } from '../helpers/apps.js';

afterAll(removeTempDirs);

it('a new react app passes valet check and builds, with no server code in the bundle', async () => {
  const app = await linkedTemplateApp('react', 'web');

  const check = await run(process.execPath, [join(app, 'node_modules/valet/bin/valet.js'), 'check'], app);
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
