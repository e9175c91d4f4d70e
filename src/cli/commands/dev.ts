// `valet dev`: starts the dev loop (src/devserver) and turns its events into terminal lines.
import type { Command } from 'commander';
import kleur from 'kleur';
import type { DevEvent } from '../../devserver/dev.js';
import type { UnlistedFunction } from '../../runtime/registry.js';
import { findAppDir } from '../../project/app-dir.js';
import { catchShutdown } from '../shutdown.js';
import { codeFrame } from '../../project/code-frame.js';
import { collect, parsePort, SERVE_SECURITY_HELP } from '../options.js';
import type { ServeFlags } from '../options.js';
import { shortInvocationId } from '../../protocol/log-tag.js';

const MAX_TYPE_ERRORS = 10;

/** Renders dev events as terminal lines: one per reload, file:line and a frame per problem. */
function renderer(appDir: string, describeUnlisted: (fn: UnlistedFunction) => string) {
  let typeErrors = 0;
  const write = (line: string) => process.stderr.write(`${line}\n`);
  return (event: DevEvent) => {
    switch (event.type) {
      case 'ready':
        write(
          `${kleur.green('✔')} Valet dev: ${event.functions} functions at ${kleur.bold(event.url)} (ready in ${event.ms} ms) — get a token with ${kleur.cyan('npx valet token <userId>')}`,
        );
        write(
          `  Dashboard: ${kleur.bold(event.dashboard)} ${kleur.dim('(opens once; npx valet dashboard for another link)')}`,
        );
        write(
          kleur.dim(`  database ${event.database}; tokens verified by ${event.authSource}; files in ${event.files}`),
        );
        if (event.searchIndexes) write(`  ${event.searchIndexes}`);
        if (event.listeningUrls.length > 1 || event.listeningUrls[0] !== event.url)
          write(`  Listening on every interface: ${event.listeningUrls.join(', ')}`);
        for (const warning of event.warnings) write(`${kleur.yellow('warning')} ${warning}`);
        break;
      case 'reloaded': {
        const what = event.changed.length ? event.changed.join(', ') : 'initial build';
        const generated = event.generated.length
          ? `, regenerated ${event.generated.map((g) => g.split('/').pop()).join(', ')}`
          : '';
        const { codegen, build, evaluate, swap } = event.stages;
        write(
          `${kleur.green('↻')} ${what} → ${event.functions} functions in ${event.ms} ms${generated} ${kleur.dim(`(codegen ${codegen}, build ${build}, load ${evaluate}, swap ${swap})`)}`,
        );
        if (event.searchIndexes) write(`  ${event.searchIndexes}`);
        break;
      }
      case 'env':
        // Names only: the values of .env files are often secrets.
        write(
          `${kleur.cyan('env')} ${event.changed.join(', ')} changed in the .env files; functions see the new values`,
        );
        break;
      case 'failed':
        for (const problem of event.problems) {
          const where = problem.file
            ? `${problem.file}${problem.line ? `:${problem.line}${problem.column ? `:${problem.column}` : ''}` : ''} `
            : '';
          write(`${kleur.red('✖')} ${kleur.bold(where)}${problem.message}`);
          if (problem.file && problem.line) {
            const frame = codeFrame(appDir, problem.file, problem.line, problem.column ?? 1);
            if (frame) write(kleur.dim(frame));
          }
        }
        write(
          kleur.dim(
            event.keptServing
              ? '  (the last good build keeps serving; fix the file and save)'
              : '  (the server answers 503 until the app builds)',
          ),
        );
        break;
      case 'types':
        if (event.errors.length > 0) {
          write(
            `${kleur.yellow('⚠')} ${event.errors.length} type error${event.errors.length === 1 ? '' : 's'} (not blocking; --typecheck makes them blocking):`,
          );
          for (const f of event.errors.slice(0, MAX_TYPE_ERRORS))
            write(`  ${f.file}:${f.line}:${f.column} ${f.message.split('\n')[0]}`);
        } else if (typeErrors > 0) write(`${kleur.green('✔')} types ok`);
        typeErrors = event.errors.length;
        break;
      case 'email':
        write(
          `${kleur.cyan('✉')} email to ${event.email.to.join(', ')}: "${event.email.subject}" ${kleur.dim(`(valet outbox show ${event.email.id})`)}`,
        );
        break;
      case 'push': {
        const { title } = JSON.parse(event.message.payload) as { title: string };
        write(
          `${kleur.cyan('🔔')} push to ${new URL(event.message.subscription.endpoint).host}: "${title}" ${kleur.dim(`(captured; valet outbox show ${event.message.id})`)}`,
        );
        break;
      }
      case 'unlisted':
        for (const fn of event.functions) write(`${kleur.yellow('⚠')} ${describeUnlisted(fn)}`);
        break;
      case 'log': {
        // How a call ended is for valet logs and the dashboard; a failure has its own line already.
        if (event.entry.outcome) break;
        const tag = kleur.dim(`[${event.entry.function} ${shortInvocationId(event.entry.invocation)}]`);
        const message =
          event.entry.level === 'error'
            ? kleur.red(event.entry.message)
            : event.entry.level === 'warn'
              ? kleur.yellow(event.entry.message)
              : event.entry.message;
        write(`${tag} ${message}`);
        break;
      }
    }
  };
}

export function registerDev(program: Command): void {
  program
    .command('dev')
    .description('run the app locally: watch valet/, rebuild, regenerate and hot swap on every save')
    .option('-p, --port <port>', 'port to listen on (a taken port is an error)', '3210')
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--allowed-host <host>', 'also answer to this Host name (repeatable; .example.com for subdomains)', collect)
    .option(
      '--cors-origin <origin>',
      'also let pages on this origin call the API (localhost pages always may)',
      collect,
    )
    .option('--typecheck', 'make type errors block a reload (default: reported in the background)')
    .option('--no-typecheck', 'do not type-check at all')
    .option('--once', 'build, run codegen, apply the schema, then exit (CI, scripts)')
    .addHelpText(
      'after',
      `
Functions see VALET_DEV=1 (loopback fetches allowed). State lives in .valet/: the database,
the dev signing key (valet token), the admin key, logs.ndjson (valet logs).
${SERVE_SECURITY_HELP}

Examples:
  $ valet dev
  $ valet dev --port 4000 --typecheck
  $ valet dev --once`,
    )
    .action(async (flags: ServeFlags & { typecheck?: boolean; once?: boolean }) => {
      const appDir = findAppDir();
      const port = parsePort(flags.port);
      const { startDev } = await import('../../devserver/dev.js');
      // Loaded here, not at the top: `valet --help` should not pay for the engine's registry.
      const { describeUnlisted } = await import('../../runtime/registry.js');
      const typecheck = flags.typecheck === true ? 'blocking' : flags.typecheck === false ? 'off' : 'background';
      // From here on a signal closes the server, however soon after the ready line it comes.
      const shutdown = flags.once ? null : catchShutdown();
      const dev = await startDev({
        appDir,
        port,
        host: flags.host,
        allowedHosts: flags.allowedHost,
        corsOrigins: flags.corsOrigin,
        typecheck,
        once: flags.once,
        onEvent: renderer(appDir, describeUnlisted),
      });
      if (flags.once) return;
      // A bug in Valet ends the dev server (it was printed as one); Ctrl-C ends it normally.
      const failed = await Promise.race([
        shutdown!.until(() => dev.close()).then(() => false),
        dev.fatal.then(() => true),
      ]);
      if (failed) {
        await dev.close();
        throw await dev.fatal;
      }
    });
}
