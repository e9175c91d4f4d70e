// `npm create valet@latest my-app`: the create-valet package's program, bundled with its prompts
// into one file of that package (scripts/bundle-create-valet.js), which ships a copy of templates/
// and nothing of Valet. It copies a template, installs the app (which brings the app its own
// Valet), and lets that Valet generate the app's API: the same app `valet init` makes, without
// installing Valet's runtime twice.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { UserError } from '../errors/user-error.js';
import { nextSteps, resolveNewAppAnswers } from './answers.js';
import { copyTemplate } from './copy-template.js';
import { installDependencies } from './install.js';
import { listTemplates } from './templates.js';

/** The create-valet package: dist/create-valet.js, with package.json and templates/ beside dist/. */
const PACKAGE = join(dirname(fileURLToPath(import.meta.url)), '..');

const HELP = `Usage: npm create valet@latest [dir] -- [options]

Create a Valet app from a template (the same app \`npx valet init\` makes).

Options:
  -t, --template <name>  template: basic (backend only) or react (backend + Vite page)
  -y, --yes              accept the defaults without asking
  --no-install           do not run npm install
  --force                write into a non-empty directory
  --no-agents            do not write AGENTS.md (rules for coding agents) and its pointers
  -v, --version          print the version
  -h, --help             show help

Examples:
  $ npm create valet@latest
  $ npm create valet@latest my-app -- --template react --yes
`;

/** The app's own Valet (installed just now) writes valet/_generated, as `valet init` does. */
function generateApi(appDir: string): Promise<void> {
  const bin = join(appDir, 'node_modules', 'valet', 'bin', 'valet.js');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, 'codegen'], { cwd: appDir, stdio: ['ignore', 2, 2] });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new UserError(`valet codegen exited with code ${code}`)),
    );
  });
}

async function create(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      template: { type: 'string', short: 't' },
      yes: { type: 'boolean', short: 'y' },
      'no-install': { type: 'boolean' },
      force: { type: 'boolean' },
      'no-agents': { type: 'boolean' },
      version: { type: 'boolean', short: 'v' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const { version } = JSON.parse(readFileSync(join(PACKAGE, 'package.json'), 'utf8')) as { version: string };
  if (values.help) return void process.stdout.write(HELP);
  if (values.version) return void process.stdout.write(`${version}\n`);
  if (positionals.length > 1)
    throw new UserError(`one directory at most, got ${positionals.join(' ')}`, { exitCode: 2 });
  const templatesDir = join(PACKAGE, 'templates');
  const interactive = Boolean(process.stdin.isTTY && process.stdout.isTTY);
  const answers = await resolveNewAppAnswers(
    positionals[0],
    { template: values.template, yes: values.yes, install: !values['no-install'] },
    listTemplates(templatesDir),
    interactive,
  );
  const appDir = copyTemplate({
    dir: answers.dir,
    template: answers.template,
    templatesDir,
    valetSpec: `^${version}`,
    force: values.force,
    agents: !values['no-agents'],
  });
  process.stderr.write(`✔ Created ${answers.template} app in ${appDir}\n`);
  if (answers.install) {
    process.stderr.write('Installing dependencies…\n');
    try {
      await installDependencies(appDir);
    } catch (error) {
      throw new UserError(`${(error as Error).message}. The app is created; run npm install in ${appDir} to finish.`);
    }
    if (existsSync(join(appDir, 'node_modules', 'valet'))) await generateApi(appDir);
  }
  const fromHere = relative(process.cwd(), appDir);
  const steps = nextSteps(fromHere.startsWith('..') ? appDir : fromHere || '.', answers.install);
  process.stderr.write(`\nNext:\n${steps.map((step) => `  ${step}`).join('\n')}\n`);
}

export async function main(argv: string[]): Promise<number> {
  try {
    await create(argv);
    return 0;
  } catch (error) {
    if (error instanceof UserError) {
      process.stderr.write(`error: ${error.message}\n`);
      return error.exitCode;
    }
    // parseArgs's own refusals (an unknown flag) are usage errors.
    if ((error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`error: ${(error as Error).message}\n\n${HELP}`);
      return 2;
    }
    process.stderr.write(`create-valet failed (a bug: please report it):\n${(error as Error).stack ?? error}\n`);
    return 1;
  }
}
