// The entry of a `valet build` folder: `node server.mjs` serves the app from the folder it sits
// in, with Valet's runtime bundled beside it (only better-sqlite3 and pg come from node_modules).
// Flags: --port (or PORT / VALET_PORT, default 3210), --host (or VALET_HOST, default 127.0.0.1),
// --allowed-host and --cors-origin (repeatable); everything else is configured through the
// environment, as for `valet start`.
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../errors/user-error.js';
import { DEFAULT_HOST, DEFAULT_PORT } from './listen.js';
import { startApp } from './start.js';

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i === -1 ? undefined : process.argv[i + 1];
}

/** A repeatable flag (`--allowed-host a --allowed-host b`, or `a,b`). */
function flags(name: string): string[] {
  return process.argv.flatMap((arg, i) => (arg === name && process.argv[i + 1] ? process.argv[i + 1]!.split(',').map((v) => v.trim()).filter(Boolean) : []));
}

const here = dirname(fileURLToPath(import.meta.url));
const port = Number(flag('--port') ?? process.env.PORT ?? process.env.VALET_PORT ?? DEFAULT_PORT);
const host = flag('--host') ?? process.env.VALET_HOST ?? DEFAULT_HOST;

try {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UserError(`--port: expected a port number (1-65535), got "${flag('--port') ?? process.env.PORT ?? process.env.VALET_PORT}"`);
  const app = await startApp({ appDir: here, port, host, prebuilt: true, allowedHosts: flags('--allowed-host'), corsOrigins: flags('--cors-origin') });
  process.stderr.write(`✔ Valet serving ${app.functionCount} functions at ${app.url} (database ${app.databasePath}, tokens verified by ${app.authSource}, email via ${app.emailTransport})\n`);
  let stopping = false;
  const stop = () => {
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
} catch (error) {
  if (!(error instanceof UserError)) throw error;
  process.stderr.write(`error ${error.message}\n`);
  process.exit(1);
}
