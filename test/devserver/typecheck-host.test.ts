// valet dev's type checks start from a helper process: what it runs answers as if spawned here, runs
// at the lowest CPU priority, ends when valet dev closes, and a dead helper loses no type check.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { TypecheckHost } from '../../src/devserver/typecheck-host.js';
import { waitUntil } from '../helpers/instances.js';

const dir = mkdtempSync(join(tmpdir(), 'valet-typecheck-host-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('TypecheckHost', () => {
  const hosts: TypecheckHost[] = [];
  const started = () => {
    const host = new TypecheckHost();
    host.start();
    hosts.push(host);
    return host;
  };
  afterEach(() => {
    for (const host of hosts.splice(0)) host.close();
  });

  it('runs a command from the helper and hands back its exit code and output (stdout and stderr)', async () => {
    const host = started();
    expect(host.helperPid).toEqual(expect.any(Number));
    const run = await host.run(
      process.execPath,
      ['-e', "console.log('out', process.ppid); console.error('err'); process.exit(3)"],
      dir,
    );
    expect(run.code).toBe(3);
    // Its parent is the helper, not this process: starting it did not fork this one.
    expect(run.output.trim().split('\n').sort()).toEqual(['err', `out ${host.helperPid}`]);
  });

  it('runs what it starts at the lowest CPU priority', async () => {
    const run = await started().run(process.execPath, ['-e', "console.log(require('os').getPriority())"], dir);
    expect(run.output.trim()).toBe('19');
  });

  it('ends a command still running when it closes', async () => {
    const host = started();
    const pidFile = join(dir, 'running.pid');
    const running = host.run(
      process.execPath,
      [
        '-e',
        `require('fs').writeFileSync(${JSON.stringify(pidFile)}, String(process.pid)); setInterval(() => {}, 1000)`,
      ],
      dir,
    );
    running.catch(() => undefined);
    await waitUntil(() => existsSync(pidFile), 20_000, 'the command to start');
    const pid = Number(readFileSync(pidFile, 'utf8'));
    expect(alive(pid)).toBe(true);
    host.close();
    await expect(running).rejects.toThrow('valet dev closed');
    await waitUntil(() => !alive(pid), 20_000, 'the command to end with the helper');
  });

  it('runs the command itself when the helper has died', async () => {
    const host = started();
    const helper = host.helperPid!;
    process.kill(helper, 'SIGKILL');
    await waitUntil(() => host.helperPid === null, 20_000, 'the helper to be seen gone');
    const run = await host.run(process.execPath, ['-e', 'console.log(process.ppid)'], dir);
    expect(Number(run.output.trim())).toBe(process.pid);
  });

  it('runs the command itself when the helper dies while running it', async () => {
    const host = started();
    const pidFile = join(dir, 'orphan.pid');
    const running = host.run(
      process.execPath,
      [
        '-e',
        `const fs = require('fs'); if (!fs.existsSync(${JSON.stringify(pidFile)})) { fs.writeFileSync(${JSON.stringify(pidFile)}, String(process.pid)); setInterval(() => {}, 1000); } else console.log('again', process.ppid)`,
      ],
      dir,
    );
    await waitUntil(() => existsSync(pidFile), 20_000, 'the first run to start');
    process.kill(host.helperPid!, 'SIGKILL');
    const run = await running;
    expect(run.output.trim()).toBe(`again ${process.pid}`);
    process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGKILL');
  });
});
