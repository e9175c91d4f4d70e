// A real npm registry for install tests: Verdaccio on a free loopback port with throwaway storage,
// proxying everything but valet and create-valet to the registry this machine's npm is configured
// with (read at run time: no registry address lives in this repository). Create React App tested
// its scaffolder this way (tasks/local-registry.sh).
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, run, tempDir } from './apps.js';
import { freePort } from './processes.js';

export interface LocalRegistry {
  url: string;
  /** An npm user config pointing at the registry with a publish token (and this machine's other settings). */
  userconfig: string;
  /** Environment for npm commands run against the registry, with an empty cache of their own. */
  env(cache: string): NodeJS.ProcessEnv;
  publish(tarball: string): Promise<void>;
  stop(): Promise<void>;
}

async function npmConfig(key: string): Promise<string> {
  const result = await run('npm', ['config', 'get', key], REPO_ROOT);
  return result.stdout.trim();
}

function verdaccioConfig(storage: string, htpasswd: string, upstream: string): string {
  const local = { access: '$all', publish: '$authenticated' };
  const proxied = { ...local, proxy: 'upstream' };
  const block = (name: string, rules: Record<string, string>) =>
    `  '${name}':\n${Object.entries(rules)
      .map(([k, v]) => `    ${k}: ${v}`)
      .join('\n')}`;
  return [
    `storage: ${storage}`,
    'auth:',
    '  htpasswd:',
    `    file: ${htpasswd}`,
    '    max_users: 10',
    'uplinks:',
    '  upstream:',
    `    url: ${upstream}`,
    '    timeout: 120s',
    '    max_fails: 20',
    'packages:',
    block('valet', local),
    block('create-valet', local),
    block('@*/*', proxied),
    block('**', proxied),
    'max_body_size: 200mb',
    'web:',
    '  enable: false',
    'log: { type: stdout, format: pretty, level: error }',
    '',
  ].join('\n');
}

export async function startLocalRegistry(): Promise<LocalRegistry> {
  const dir = tempDir('valet-registry-');
  const upstream = await npmConfig('registry');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  const configFile = join(dir, 'config.yaml');
  writeFileSync(configFile, verdaccioConfig(join(dir, 'storage'), join(dir, 'htpasswd'), upstream));
  const child: ChildProcess = spawn(
    process.execPath,
    [join(REPO_ROOT, 'node_modules/verdaccio/bin/verdaccio'), '--config', configFile, '--listen', `127.0.0.1:${port}`],
    {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  for (let waited = 0; ; waited += 100) {
    try {
      if ((await fetch(`${url}-/ping`)).ok) break;
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null || waited > 30_000) throw new Error(`verdaccio did not start:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  // A user to publish as (Verdaccio's htpasswd registers on first login, as `npm adduser` does).
  const login = await fetch(`${url}-/user/org.couchdb.user:valet-test`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'valet-test', password: 'valet-test-password' }),
  });
  const { token } = (await login.json()) as { token: string };
  if (!token) throw new Error(`could not create a registry user: ${login.status}`);

  // Keep this machine's own npm settings (CA file, Node headers for native builds), then point at the registry.
  const userconfig = join(dir, 'npmrc');
  const ownConfig = await npmConfig('userconfig');
  const inherited = existsSync(ownConfig)
    ? readFileSync(ownConfig, 'utf8')
        .split('\n')
        .filter((line) => !/^\s*(registry|\/\/)/.test(line))
    : [];
  const host = url.replace(/^http:/, '');
  writeFileSync(userconfig, [...inherited, `registry=${url}`, `${host}:_authToken=${token}`, ''].join('\n'));

  const env = (cache: string): NodeJS.ProcessEnv => {
    mkdirSync(cache, { recursive: true });
    return {
      npm_config_userconfig: userconfig,
      npm_config_registry: url,
      npm_config_cache: cache,
      npm_config_yes: 'true',
      npm_config_update_notifier: 'false',
      npm_config_fund: 'false',
      npm_config_audit: 'false',
    };
  };

  return {
    url,
    userconfig,
    env,
    async publish(tarball) {
      const result = await run(
        'npm',
        ['publish', tarball, '--registry', url, '--tag', 'latest'],
        dir,
        env(join(dir, 'publish-cache')),
      );
      if (result.code !== 0) throw new Error(`npm publish ${tarball} failed:\n${result.stderr}`);
    },
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

/**
 * `npm pack` of valet and create-valet. valet's prepack (the build) is skipped: `npm test` built
 * dist/ already, and rebuilding it would pull it from under the tests running beside this one.
 * create-valet's prepack runs: it pins the valet version into the packed manifest.
 */
export async function packValet(into: string): Promise<{ valet: string; createValet: string; version: string }> {
  const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
  for (const args of [
    ['pack', '--ignore-scripts'],
    ['pack', '-w', 'create-valet'],
  ]) {
    const result = await run('npm', [...args, '--pack-destination', into], REPO_ROOT);
    if (result.code !== 0) throw new Error(`npm ${args.join(' ')} failed:\n${result.stderr}`);
  }
  return { valet: join(into, `valet-${version}.tgz`), createValet: join(into, `create-valet-${version}.tgz`), version };
}
