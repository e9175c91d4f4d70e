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
  // The page refers to the server's functions by name only …
  expect(bundle).toContain('actions:sendWelcomeEmail');
  // … and carries nothing of their bodies: text that appears only inside handlers in valet/*.ts
  // would survive minification if any of that code had been pulled into the page.
  for (const serverOnly of ['Welcome to Valet', 'Your daily digest', 'Thanks for your purchase', 'GitHub returned'])
    expect(bundle, serverOnly).not.toContain(serverOnly);
  // (Those texts are really in the app's server code: the check above could not pass vacuously.)
  const serverCode = readdirSync(join(app, 'valet'))
    .filter((name) => name.endsWith('.ts'))
    .map((name) => readFileSync(join(app, 'valet', name), 'utf8'))
    .join('\n');
  for (const serverOnly of ['Welcome to Valet', 'Your daily digest']) expect(serverCode).toContain(serverOnly);
  // Nor Valet's server runtime (the engine's own messages).
  expect(bundle).not.toContain('_valet_documents');
  expect(bundle).not.toContain('better-sqlite3');
});
