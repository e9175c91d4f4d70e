// Installing a new app's dependencies with the user's npm, so the app starts with a lockfile npm
// made.
import { spawn } from 'node:child_process';

/**
 * Runs `npm install` in the new app. npm's own output goes to stderr: stdout is for data.
 * `--prefer-offline` lets it work from the cache the Valet checkout's install filled.
 */
export function installDependencies(appDir: string): Promise<void> {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  return new Promise((resolvePromise, reject) => {
    const child = spawn(npm, ['install', '--prefer-offline', '--no-audit', '--no-fund'], {
      cwd: appDir,
      stdio: ['ignore', 2, 2],
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolvePromise() : reject(new Error(`npm install exited with code ${code}`)),
    );
  });
}
