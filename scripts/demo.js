// The README's first quick-start command: build Valet, scaffold the demo app (once), then run
// `valet dev` on it until Ctrl-C.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { demoPortOf } from './demo-args.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const demo = join(root, 'demo-app');
const valet = join(root, 'bin', 'valet.js');

function step(command, args, cwd) {
  const result = spawnSync(command, args, { cwd, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

const args = process.argv.slice(2);
const url = `http://127.0.0.1:${demoPortOf(args)}`;
step('npm', ['run', 'build', '--silent'], root);
if (!existsSync(join(demo, 'valet'))) {
  // The scaffold itself, not `valet init`: init's "next steps" are for someone who runs dev next,
  // and here this script does. The steps below are the only ones printed.
  const { scaffoldApp } = await import(join(root, 'dist/scaffold/scaffold.js'));
  const { installDependencies } = await import(join(root, 'dist/scaffold/install.js'));
  scaffoldApp({ dir: demo, template: 'basic', link: true });
  process.stderr.write('Created the demo app in ./demo-app; installing its dependencies…\n');
  await installDependencies(demo);
} else process.stderr.write(`Using the existing demo app in ${demo}\n`);
process.stderr.write(`
The demo app is in ./demo-app (its backend is demo-app/valet/). While valet dev runs, in another terminal:
  cd demo-app
  TOKEN=$(npx valet token ada)
  curl -s -H "Authorization: Bearer $TOKEN" -d '{"path":"users:create","args":{"email":"ada@example.com"}}' ${url}/api/mutation
  curl -s -d '{"path":"users:list","args":{}}' ${url}/api/query
  npx valet invocations ls; npx valet outbox ls; npx valet logs --follow
Open the Dashboard link valet dev prints below (functions, invocations, logs, data, email, crons).
Edit demo-app/valet/*.ts and watch it reload. Ctrl-C stops.

`);
const dev = spawn(process.execPath, [valet, 'dev', ...args], { cwd: demo, stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => dev.kill(signal));
dev.on('exit', (code) => process.exit(code ?? 0));
