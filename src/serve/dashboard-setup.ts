// The dashboard of a server: its page (built into dist/dashboard-ui with the package), its state,
// and the one-time sign-in links the terminal prints.
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { DashboardHost } from '../http/dashboard/host.js';
import { PACKAGE_ROOT } from '../project/package-info.js';
import { logsPathOf } from '../project/paths.js';
import type { Connections } from '../runtime/connections/types.js';

export const DASHBOARD_ASSETS = join(PACKAGE_ROOT, 'dist', 'dashboard-ui');

function appNameOf(appDir: string): string {
  try {
    const name = (JSON.parse(readFileSync(join(appDir, 'package.json'), 'utf8')) as { name?: unknown }).name;
    if (typeof name === 'string' && name) return name;
  } catch {
    // No package.json (or not JSON): the folder's name says it as well.
  }
  return basename(appDir);
}

export function createDashboard(options: {
  appDir: string;
  mode: 'dev' | 'start';
  adminKey: string;
  database: string;
  connections: () => Connections | null;
  callsVersion: () => string;
}): DashboardHost {
  if (!existsSync(join(DASHBOARD_ASSETS, 'index.html')))
    process.stderr.write(
      `valet: the dashboard's page is missing from ${DASHBOARD_ASSETS} (run npm run build in the Valet checkout)\n`,
    );
  return new DashboardHost({
    adminKey: options.adminKey,
    app: appNameOf(options.appDir),
    mode: options.mode,
    database: options.database,
    logsFile: logsPathOf(options.appDir),
    assetsDir: DASHBOARD_ASSETS,
    connections: options.connections,
    callsVersion: options.callsVersion,
    appDir: options.appDir,
  });
}
