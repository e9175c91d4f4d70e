// The README's first quick-start command: build Valet, scaffold the demo app (once) and check it.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const demo = join(root, 'demo-app');
const valet = join(root, 'bin', 'valet.js');

function step(command, args, cwd) {
  const result = spawnSync(command, args, { cwd, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

step('npm', ['run', 'build', '--silent'], root);
if (!existsSync(join(demo, 'valet'))) step(process.execPath, [valet, 'init', demo, '--template', 'basic', '--yes'], root);
else process.stderr.write(`Using the existing demo app in ${demo}\n`);
step(process.execPath, [valet, 'codegen'], demo);
step(process.execPath, [valet, 'check'], demo);
process.stderr.write(`
The demo app is in ./demo-app: its backend is demo-app/valet/. Try:
  cd demo-app
  npx valet check --json           the findings as data (none yet)
  npx valet codegen --check        what CI runs to catch stale generated files
Then add \`await fetch('https://example.com')\` to a query in valet/users.ts and run npx valet check.
`);
