// `valet init` on a real terminal: `script` gives the CLI a pseudo-terminal, and the test answers
// each question when it appears, as a person would.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { removeTempDirs, tempDir, VALET_BIN } from '../helpers/apps.js';

afterAll(removeTempDirs);

it('asks for the directory, the template and whether to install', async () => {
  const parent = tempDir();
  const answers: [RegExp, string][] = [
    [/Directory for the new app/, 'from-tty\r'],
    [/Template/, '\u001b[B\r'], // arrow down to "react", then Enter
    [/Install dependencies now/, 'n\r'],
  ];
  const child = spawn('script', ['-qfec', `"${process.execPath}" "${VALET_BIN}" init`, '/dev/null'], {
    cwd: parent,
    env: { ...process.env, NO_COLOR: '1' },
  });
  let screen = '';
  const exit = new Promise<number | null>((resolve) => child.on('close', resolve));
  child.stdout.on('data', (chunk) => {
    screen += chunk;
    const next = answers[0];
    if (next && next[0].test(screen)) {
      answers.shift();
      screen = '';
      child.stdin.write(next[1]);
    }
  });
  const code = await exit;
  expect(answers).toEqual([]);
  expect(code).toBe(0);
  const app = join(parent, 'from-tty');
  expect(existsSync(join(app, 'src/App.tsx'))).toBe(true);
  expect(existsSync(join(app, 'node_modules'))).toBe(false);
  expect(JSON.parse(readFileSync(join(app, 'package.json'), 'utf8')).name).toBe('from-tty');
});
