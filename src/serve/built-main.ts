// The entry of a `valet build` folder: `node server.mjs` serves the app from the folder it sits
// in, with Valet's runtime bundled beside it (only better-sqlite3 and pg come from node_modules).
// Its flags are parsed by the CLI's parser, so a typo is refused (exit 2) instead of ignored and
// --help prints help instead of starting a server. Everything else is configured through the
// environment, as for `valet start`.
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { UserError } from '../errors/user-error.js';
import { DEFAULT_HOST, DEFAULT_PORT } from './listen.js';
import { startApp } from './start.js';
import type { StartedApp } from './start.js';
import { describeSearchBuilds } from '../storage/search-builds.js';

interface BuiltFlags {
  port?: string;
  host?: string;
  allowedHost: string[];
  corsOrigin: string[];
}

const collect = (value: string, previous: string[]) => [
  ...previous,
  ...value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean),
];

function parseFlags(argv: string[]): BuiltFlags {
  const program = new Command('server.mjs')
    .description('serve this built Valet app (configure everything else through the environment, as for valet start)')
    .option('--port <n>', `port to listen on (default: PORT, VALET_PORT, else ${DEFAULT_PORT})`)
    .option('--host <address>', `address to listen on (default: VALET_HOST, else ${DEFAULT_HOST})`)
    .option('--allowed-host <host>', 'also answer to this Host name (repeatable)', collect, [])
    .option('--cors-origin <origin>', 'also let pages on this origin call the API (repeatable)', collect, [])
    .helpOption('-h, --help', 'show help')
    .allowExcessArguments(false)
    .exitOverride();
  try {
    program.parse(argv, { from: 'node' });
  } catch (error) {
    if (error instanceof CommanderError) process.exit(error.exitCode === 0 ? 0 : 2);
    throw error;
  }
  return program.opts<BuiltFlags>();
}

function readyLines(app: StartedApp): string[] {
  const lines = [
    `✔ Valet serving ${app.functionCount} functions at ${app.url} (database ${app.databasePath}, tokens verified by ${app.authSource}, email via ${app.emailTransport}, files in ${app.engine.files.blobs.description})`,
  ];
  const built = describeSearchBuilds(app.engine.searchIndexesBuilt);
  if (built) lines.push(`  ${built}`);
  if (app.listeningUrls.length > 1 || app.listeningUrls[0] !== app.url)
    lines.push(`  Listening on every interface: ${app.listeningUrls.join(', ')}`);
  if (app.fetchAllow) lines.push(`  fetch may reach these private destinations (VALET_FETCH_ALLOW): ${app.fetchAllow}`);
  for (const warning of app.warnings) lines.push(`warning ${warning}`);
  return lines;
}

const flags = parseFlags(process.argv);
const here = dirname(fileURLToPath(import.meta.url));
const portText = flags.port ?? process.env.PORT ?? process.env.VALET_PORT ?? String(DEFAULT_PORT);
const port = Number(portText);
const host = flags.host ?? process.env.VALET_HOST ?? DEFAULT_HOST;

try {
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535)
    throw new UserError(`--port: expected a port number (1-65535), got "${portText}"`);
  // Signals are caught before the ready line: one sent the moment it is read must not kill.
  let app: Awaited<ReturnType<typeof startApp>> | null = null;
  let stopping = false;
  let signalled = false;
  const stop = () => {
    if (!app) {
      signalled = true;
      return;
    }
    if (stopping) return app.endDrain();
    stopping = true;
    process.stderr.write('Stopping…\n');
    app.close().then(
      () => process.exit(0),
      (error: Error) => {
        process.stderr.write(`error while stopping: ${error.stack ?? error.message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  app = await startApp({
    appDir: here,
    port,
    host,
    prebuilt: true,
    allowedHosts: flags.allowedHost,
    corsOrigins: flags.corsOrigin,
  });
  process.stderr.write(`${readyLines(app).join('\n')}\n`);
  if (signalled) stop();
} catch (error) {
  if (!(error instanceof UserError)) throw error;
  process.stderr.write(`error ${error.message}\n`);
  process.exit(1);
}
