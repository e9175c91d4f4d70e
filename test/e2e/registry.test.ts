// Installable from a registry, as a new user meets Valet: a real npm registry (Verdaccio) on
// loopback gets `valet` and `create-valet` from `npm pack`; then, in a fresh folder with an empty
// npm cache, `npx valet init` and `npm create valet` make apps that install from it, pass their
// checks, serve, and (the react one) build a production page that works in Chromium.
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../helpers/browser.js';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, removeTempDirs, run, tempDir } from '../helpers/apps.js';
import { freePort, killAll } from '../helpers/processes.js';
import { packValet, startLocalRegistry } from '../helpers/registry.js';
import type { LocalRegistry } from '../helpers/registry.js';

const ARTIFACTS = join(REPO_ROOT, 'test-artifacts');
const MINUTE = 60_000;

let registry: LocalRegistry | null = null;
let browser: Browser | null = null;
const children: ReturnType<typeof spawn>[] = [];
afterAll(async () => {
  await browser?.close();
  // Each was started in a process group of its own: npx leaves what it runs (vite) behind otherwise.
  for (const child of children) {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  killAll();
  await registry?.stop();
  removeTempDirs();
});

/** Packages (folders with a package.json) under node_modules, and their size: all, or what `root` needs. */
function installFootprint(nodeModules: string, root?: string): { packages: number; megabytes: string } {
  const lock = JSON.parse(readFileSync(join(nodeModules, '.package-lock.json'), 'utf8')) as {
    packages: Record<string, { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> }>;
  };
  const installed = Object.keys(lock.packages).filter((key) => existsSync(join(nodeModules, '..', key)));
  let keys = installed;
  if (root) {
    // The closure of root's dependencies, resolved as Node does (nested first, then hoisted).
    const seen = new Set<string>();
    const visit = (key: string) => {
      if (seen.has(key) || !lock.packages[key]) return;
      seen.add(key);
      const entry = lock.packages[key]!;
      for (const dep of Object.keys({ ...entry.dependencies, ...entry.optionalDependencies })) {
        const nested = `${key}/node_modules/${dep}`;
        visit(installed.includes(nested) ? nested : `node_modules/${dep}`);
      }
    };
    visit(`node_modules/${root}`);
    keys = [...seen].filter((key) => installed.includes(key));
  }
  const bytes = keys.reduce((sum, key) => sum + directoryBytes(join(nodeModules, '..', key), true), 0);
  return { packages: keys.length, megabytes: (bytes / 1e6).toFixed(1) };
}

/** Bytes of a package's own files (its nested node_modules are other packages, counted as such). */
function directoryBytes(dir: string, top = false): number {
  return readdirSync(dir, { withFileTypes: true }).reduce((sum, entry) => {
    if (entry.name === 'node_modules' && top) return sum;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sum + directoryBytes(path);
    return sum + (entry.isFile() ? statSync(path).size : 0);
  }, 0);
}

/** A long-running command in an app (valet dev, vite preview); resolves once `ready` is printed. */
function serve(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, ready: RegExp): Promise<void> {
  const child = spawn(command, args, {
    cwd,
    env: { ...process.env, ...env, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  children.push(child);
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${command} ${args.join(' ')} did not get ready:\n${output}`)),
      2 * MINUTE,
    );
    const onData = (chunk: Buffer) => {
      output += chunk;
      if (ready.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`${command} exited (${code}):\n${output}`)));
  });
}

describe('valet from a registry, on a machine without this repository', () => {
  it(
    'npx valet init and npm create valet make apps that install, check, serve and build',
    async () => {
      registry = await startLocalRegistry();
      const packed = await packValet(tempDir('valet-pack-'));
      await registry.publish(packed.valet);
      await registry.publish(packed.createValet);

      // A fresh folder far from this checkout, with an npm cache of its own.
      const home = tempDir('valet-newcomer-');
      const env = { ...registry.env(join(home, '.npm-cache')), PATH: process.env.PATH };
      const npm = (args: string[], cwd: string, extra: NodeJS.ProcessEnv = {}) =>
        run('npm', args, cwd, { ...env, ...extra });
      const npx = (args: string[], cwd: string, extra: NodeJS.ProcessEnv = {}) =>
        run('npx', args, cwd, { ...env, ...extra });

      // 1. Both ways in.
      const init = await npx(['--yes', `valet@${packed.version}`, 'init', 'app', '--yes'], home);
      expect(init.code, init.stderr).toBe(0);
      const create = await npm(
        ['create', `valet@${packed.version}`, 'app2', '--', '--template', 'react', '--yes'],
        home,
      );
      expect(create.code, create.stderr).toBe(0);

      for (const name of ['app', 'app2']) {
        const app = join(home, name);
        // 2. The app names valet by range, and has a real install of it (not a link).
        expect(JSON.parse(readFileSync(join(app, 'package.json'), 'utf8')).dependencies.valet).toBe(
          `^${packed.version}`,
        );
        expect(lstatSync(join(app, 'node_modules/valet')).isSymbolicLink()).toBe(false);
        expect(JSON.parse(readFileSync(join(app, 'node_modules/valet/package.json'), 'utf8')).version).toBe(
          packed.version,
        );
        // 3. Its checks pass.
        const codegen = await npx(['valet', 'codegen', '--check'], app);
        expect(codegen.code, codegen.stderr).toBe(0);
        const check = await npx(['valet', 'check'], app);
        expect(check.code, check.stderr + check.stdout).toBe(0);
        // The template's own example tests, on valet/testing from the installed package.
        const tests = await npm(['test'], app);
        expect(tests.code, tests.stdout + tests.stderr).toBe(0);
        expect(tests.stdout).toMatch(/4 passed/);
      }

      // What a new basic app installs, all of it and Valet's own share (its dependencies alone).
      const basic = installFootprint(join(home, 'app', 'node_modules'));
      const ownShare = installFootprint(join(home, 'app', 'node_modules'), 'valet');
      process.stderr.write(
        `new basic app: node_modules ${basic.packages} packages, ${basic.megabytes} MB; valet with its dependencies: ${ownShare.packages} packages, ${ownShare.megabytes} MB\n`,
      );
      expect(basic.packages).toBeGreaterThan(ownShare.packages);
      expect(ownShare.packages).toBeGreaterThan(10);

      // 3. `valet dev` of the basic app answers a query.
      const app = join(home, 'app');
      const devPort = await freePort();
      await serve(
        'npx',
        ['valet', 'dev', '--port', String(devPort), '--no-typecheck'],
        app,
        env,
        /Valet dev: \d+ functions at/,
      );
      const listed = await fetch(`http://127.0.0.1:${devPort}/api/query`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"path":"users:list","args":{}}',
      });
      expect(listed.status).toBe(200);
      expect(await listed.json()).toEqual({ value: [] });

      // 4. The react app's production build renders in Chromium and lists a user added through the API.
      const web = join(home, 'app2');
      const apiPort = await freePort();
      const apiUrl = `http://127.0.0.1:${apiPort}`;
      const build = await npm(['run', 'build'], web, { VITE_VALET_URL: apiUrl });
      expect(build.code, build.stderr).toBe(0);
      await serve(
        'npx',
        ['valet', 'dev', '--port', String(apiPort), '--no-typecheck'],
        web,
        env,
        /Valet dev: \d+ functions at/,
      );
      const token = (await npx(['valet', 'token', 'bob'], web)).stdout.trim();
      const added = await fetch(`${apiUrl}/api/mutation`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: '{"path":"users:create","args":{"email":"from-the-api@example.com"}}',
      });
      expect(added.status, await added.clone().text()).toBe(200);
      const previewPort = await freePort();
      await serve(
        'npx',
        ['vite', 'preview', '--port', String(previewPort), '--strictPort', '--host', '127.0.0.1'],
        web,
        env,
        new RegExp(`${previewPort}`),
      );

      browser = await launchChromium();
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      await page.goto(`http://127.0.0.1:${previewPort}/`);
      await page.getByRole('heading', { name: 'Your Valet app' }).waitFor({ timeout: 20_000 });
      await page.getByLabel('user id').fill('ada');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByText('from-the-api@example.com').waitFor({ timeout: 20_000 });
      expect(await page.getByTestId('user').textContent()).toBe('ada');
      expect(errors).toEqual([]);
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'react-template-production.png'), fullPage: true });
    },
    25 * MINUTE,
  );
});
