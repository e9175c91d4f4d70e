// Assembles the commands. Each command module only declares options and, when it runs,
// lazily imports the programmatic API it calls, so `valet --help` loads nothing heavy.
import { Command, CommanderError } from 'commander';
import kleur from 'kleur';
import { registerBuild } from './commands/build.js';
import { registerCheck } from './commands/check.js';
import { registerCodegen } from './commands/codegen.js';
import { registerDev } from './commands/dev.js';
import { registerEnv } from './commands/env.js';
import { registerExport } from './commands/export.js';
import { registerImport } from './commands/import.js';
import { registerInit } from './commands/init.js';
import { registerCron } from './commands/cron.js';
import { registerDashboard } from './commands/dashboard.js';
import { registerData } from './commands/data.js';
import { registerAuth } from './commands/auth.js';
import { registerCalls } from './commands/calls.js';
import { registerMcp } from './commands/mcp.js';
import { registerMigrate } from './commands/migrate.js';
import { registerInvocations } from './commands/invocations.js';
import { registerLogs } from './commands/logs.js';
import { registerOutbox } from './commands/outbox.js';
import { registerPush } from './commands/push.js';
import { registerRun } from './commands/run.js';
import { registerScheduled } from './commands/scheduled.js';
import { registerStart } from './commands/start.js';
import { registerToken } from './commands/token.js';
import { findAppDir } from '../project/app-dir.js';
import { packageJson } from '../project/package-info.js';
import { addDatabaseOption } from './options.js';
import { reportError } from './report-error.js';

/** Commands that open the app's database take --database. */
const DATABASE_COMMANDS = new Set([
  'dev',
  'start',
  'run',
  'invocations',
  'calls',
  'migrate',
  'mcp',
  'outbox',
  'push',
  'cron',
  'scheduled',
  'data',
  'export',
  'import',
  'dashboard',
]);

export function buildProgram(): Command {
  const program = new Command('valet')
    .description('Valet: a TypeScript backend in one valet/ folder, with its toolchain.')
    .version(packageJson().version, '-v, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ outputError: (message, write) => write(kleur.red(message)) })
    .addHelpText(
      'after',
      `
Examples:
  $ npx valet init my-app             create an app (asks for a template on a terminal)
  $ valet dev                         run it locally, hot reloading on every save
  $ valet codegen                     write valet/_generated/valet/*
  $ valet check                       CI: generated files current, types, Valet's rules
  $ valet start                       serve the app on http://127.0.0.1:3210
  $ valet run users:list              call a function as admin`,
    );
  registerInit(program);
  registerDev(program);
  registerCodegen(program);
  registerCheck(program);
  registerStart(program);
  registerBuild(program);
  registerRun(program);
  registerToken(program);
  registerDashboard(program);
  registerInvocations(program);
  registerCalls(program);
  registerAuth(program);
  registerMigrate(program);
  registerOutbox(program);
  registerPush(program);
  registerCron(program);
  registerScheduled(program);
  registerData(program);
  registerExport(program);
  registerImport(program);
  registerLogs(program);
  registerEnv(program);
  registerMcp(program);
  const configure = (command: Command, usesDatabase: boolean) => {
    command.exitOverride().helpOption('-h, --help', 'show help');
    if (usesDatabase && command.commands.length === 0) addDatabaseOption(command);
    command.commands.forEach((sub) => configure(sub, usesDatabase));
  };
  program.commands.forEach((command) => configure(command, DATABASE_COMMANDS.has(command.name())));
  return program;
}

/** The app a failed command acted on, for code frames (the working directory's, when there is one). */
function appDirOf(_error: unknown): string | null {
  try {
    return findAppDir();
  } catch {
    return null;
  }
}

/** Runs the CLI and returns the exit code: 0 ok, 1 failure, 2 usage error. */
export async function runCli(argv: string[]): Promise<number> {
  const program = buildProgram();
  if (argv.length === 0) {
    process.stderr.write(program.helpInformation());
    return 2;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and --version end here with exitCode 0; everything else is a usage error.
      return error.exitCode === 0 ? 0 : 2;
    }
    return reportError(error, appDirOf(error));
  }
}
