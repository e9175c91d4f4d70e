// Test helpers: temp copies of fixture apps wired to this checkout, and the built CLI as a child process.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const VALET_BIN = join(REPO_ROOT, 'bin', 'valet.js');
export const FIXTURES = join(REPO_ROOT, 'test', 'fixtures');

const created: string[] = [];

export function tempDir(prefix = 'valet-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  created.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of created.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** Makes `valet` (this checkout) and the named packages of this checkout resolvable from `appDir`. */
export function linkDependencies(appDir: string, packages: string[] = ['typescript']): void {
  mkdirSync(join(appDir, 'node_modules'), { recursive: true });
  symlinkSync(REPO_ROOT, join(appDir, 'node_modules', 'valet'), 'dir');
  for (const name of packages) {
    mkdirSync(dirname(join(appDir, 'node_modules', name)), { recursive: true });
    symlinkSync(join(REPO_ROOT, 'node_modules', name), join(appDir, 'node_modules', name), 'dir');
  }
}

/** A temp copy of `test/fixtures/<name>` with its dependencies linked. */
export function fixtureApp(name: string, packages?: string[]): string {
  const dir = join(tempDir(`valet-${name}-`), name);
  cpSync(join(FIXTURES, name), dir, { recursive: true });
  linkDependencies(dir, packages);
  return dir;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

const QUIET_ENV = { ...process.env, NO_COLOR: '1', FORCE_COLOR: undefined };

/** Runs the built CLI synchronously (for commands that finish quickly). */
export function valet(args: string[], cwd: string): RunResult {
  const result = spawnSync(process.execPath, [VALET_BIN, ...args], { cwd, env: QUIET_ENV, encoding: 'utf8' });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Runs the built CLI without blocking the test process (for installs and checks). */
export function valetAsync(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  return run(process.execPath, [VALET_BIN, ...args], cwd, env);
}

export function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: { ...QUIET_ENV, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The dependencies each template declares, as this checkout has them installed. */
function templateDependencies(template: string): string[] {
  const layers = template === 'react' ? ['basic', 'react'] : [template];
  const names = layers.flatMap((layer) => {
    const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'templates', layer, 'package.json'), 'utf8')) as {
      dependencies?: object;
      devDependencies?: object;
    };
    return Object.keys({ ...manifest.dependencies, ...manifest.devDependencies });
  });
  return [...new Set(names)].filter((name) => name !== 'valet');
}

/**
 * A new app from a template, linked to this checkout (`valet init --link`), with its dependencies
 * linked from this checkout's node_modules: a real app layout without a registry. (The registry
 * e2e test installs apps from a real registry instead.)
 */
export async function linkedTemplateApp(template: string, name = 'app'): Promise<string> {
  const parent = tempDir();
  const init = await valetAsync(['init', name, '--template', template, '--yes', '--no-install', '--link'], parent);
  if (init.code !== 0) throw new Error(`valet init failed: ${init.stderr}`);
  const app = join(parent, name);
  linkDependencies(app, templateDependencies(template));
  return app;
}

/** The running-server records an app folder holds (.valet/servers/*.json), one per served database. */
export function serverRecords(appDir: string): Array<{ url: string; pid: number; database: string }> {
  const dir = join(appDir, '.valet/servers');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => name.endsWith('.json'))
    .map((name) => JSON.parse(readFileSync(join(dir, name), 'utf8')) as { url: string; pid: number; database: string });
}
