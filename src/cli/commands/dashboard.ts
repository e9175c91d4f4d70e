// `valet dashboard`: a fresh one-time sign-in link to the running server's dashboard.
import type { Command } from 'commander';
import { findAppDir } from '../../project/app-dir.js';
import { UserError } from '../../errors/user-error.js';

export function registerDashboard(program: Command): void {
  program
    .command('dashboard')
    .description("print a new one-time link to the running server's dashboard (valet dev, or valet start --dashboard)")
    .addHelpText(
      'after',
      '\nEach link signs one browser in once (a cookie keeps it signed in for 7 days).\n\nExamples:\n  $ valet dashboard',
    )
    .action(async () => {
      const appDir = findAppDir();
      const { runningServerOf } = await import('../../ops/server-or-local.js');
      const server = await runningServerOf(appDir);
      if (!server) {
        const { listRunningServers } = await import('../../project/running-server.js');
        const others = await listRunningServers(appDir);
        const hint =
          others.length > 0
            ? ` (running on other databases: ${others.map((s) => `${s.url} on ${s.database}`).join(', ')}; pass --database to pick one)`
            : '';
        throw new UserError(
          `no server is running on this app's database: start one with npx valet dev (or valet start --dashboard)${hint}`,
        );
      }
      const response = await server.fetch('/admin/dashboard/link', { method: 'POST' });
      const body = (await response.json()) as { url?: string; message?: string };
      if (!response.ok || !body.url) throw new UserError(body.message ?? `the server answered ${response.status}`);
      process.stdout.write(`${body.url}\n`);
    });
}
