// A PostgreSQL cluster of a test's own (Debian's pg_createcluster), on its own port, for faults that
// must never touch the shared server: its postmaster killed, its pg_hba.conf rejecting us, its
// connection slots exhausted. Trust auth on loopback, fsync off (nothing here needs durability
// across a machine crash: the postmaster is killed, never the machine), dropped when done.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';

export interface PrivateCluster {
  /** The `postgres` database as superuser; `urlFor` for another database or role. */
  url: string;
  port: number;
  urlFor(database: string, user?: string): string;
  /** Runs SQL as the superuser on the `postgres` database. */
  sql(text: string, params?: unknown[]): Promise<pg.QueryResult>;
  /** Rejects every TCP connection of `user` (a pg_hba reject line), reloaded at once; `allowAll` undoes it. */
  rejectUser(user: string): Promise<void>;
  allowAll(): Promise<void>;
  /** Ends the backends of `user` (they reconnect, and meet the new rules). */
  terminate(user: string): Promise<number>;
  /** SIGKILL to the postmaster: every connection drops at once; `start` brings it back (crash recovery). */
  killPostmaster(): void;
  start(): Promise<void>;
  drop(): void;
}

/** How often a wait for the cluster's state looks again. */
const POLL_MS = 50;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

async function waitReady(port: number): Promise<void> {
  for (let i = 0; i < 300; i++) {
    try {
      execFileSync('pg_isready', ['-q', '-h', '127.0.0.1', '-p', String(port)]);
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }
  throw new Error(`the private PostgreSQL cluster on port ${port} did not become ready`);
}

/** Whether `pid` is a process that still runs (a zombie left by a killed postmaster does not). */
function alive(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

/**
 * A postmaster killed with SIGKILL leaves its lock files; where nobody reaps its zombie (PID 1 of a
 * container), PostgreSQL takes the zombie for a live postmaster and refuses to start.
 */
function clearStaleLocks(dataDir: string, port: number): void {
  const pidFile = join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (alive(pid)) return;
  rmSync(pidFile, { force: true });
  rmSync(`/var/run/postgresql/.s.PGSQL.${port}.lock`, { force: true });
  rmSync(`/var/run/postgresql/.s.PGSQL.${port}`, { force: true });
}

export async function startPrivateCluster(settings: Record<string, string | number> = {}): Promise<PrivateCluster> {
  const version = readdirSync('/etc/postgresql').sort().at(-1)!;
  const name = `valet_${randomBytes(4).toString('hex')}`;
  const port = await freePort();
  const options = Object.entries({ fsync: 'off', max_connections: 50, ...settings }).flatMap(([key, value]) => [
    '-o',
    `${key}=${value}`,
  ]);
  execFileSync('pg_createcluster', [version, name, '-p', String(port), ...options, '--', '--auth=trust'], {
    stdio: 'pipe',
  });
  const hbaPath = join('/etc/postgresql', version, name, 'pg_hba.conf');
  const trusted = readFileSync(hbaPath, 'utf8');
  const dataDir = join('/var/lib/postgresql', version, name);
  const ctl = (action: string) =>
    execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, name, action], { stdio: 'pipe' });
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const start = async () => {
    clearStaleLocks(dataDir, port);
    ctl('start');
    await waitReady(port);
  };
  await start();
  const sql = async (text: string, params: unknown[] = []) => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return await client.query(text, params);
    } finally {
      await client.end();
    }
  };
  return {
    url,
    port,
    urlFor: (database, user = 'postgres') => `postgres://${user}@127.0.0.1:${port}/${database}`,
    sql,
    async rejectUser(user) {
      writeFileSync(hbaPath, `host all ${user} 127.0.0.1/32 reject\nhost all ${user} ::1/128 reject\n${trusted}`);
      await sql('SELECT pg_reload_conf()');
    },
    async allowAll() {
      writeFileSync(hbaPath, trusted);
      await sql('SELECT pg_reload_conf()');
    },
    async terminate(user) {
      return (
        (
          await sql(
            'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1 AND pid <> pg_backend_pid()',
            [user],
          )
        ).rowCount ?? 0
      );
    },
    killPostmaster() {
      // Its backends too, as a crash of the machine's database would: left alone they would hold
      // the shared memory and keep a new postmaster from starting.
      const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
      const children = execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' })
        .split('\n')
        .map(Number)
        .filter(Boolean);
      process.kill(pid, 'SIGKILL');
      for (const child of children) {
        try {
          process.kill(child, 'SIGKILL');
        } catch {
          // gone already
        }
      }
    },
    start,
    drop() {
      execFileSync('pg_dropcluster', ['--stop', version, name], { stdio: 'pipe' });
    },
  };
}
