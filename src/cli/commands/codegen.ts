// `valet codegen`: the typed API in valet/_generated, written without a server (src/codegen does
// the work).
import type { Command } from 'commander';
import kleur from 'kleur';
import { findAppDir } from '../../project/app-dir.js';
import { UserError } from '../../errors/user-error.js';
import { printCodegenErrors } from '../print-diagnostics.js';

export function registerCodegen(program: Command): void {
  program
    .command('codegen')
    .description('write valet/_generated/valet/ (api.ts, dataModel.ts, react.ts) from the modules in valet/')
    .option('--check', 'write nothing; exit 1 when a generated file is missing or stale (for CI)')
    .addHelpText(
      'after',
      `
Works offline and needs no server: it reads valet/ statically. Where the app has a .valet/
(valet dev or valet start made it), what it read of each module is kept there
(codegen-cache.json), so the next run reads again only the modules that changed.

Examples:
  $ valet codegen
  $ valet codegen --check      in CI: fails when someone forgot to run codegen`,
    )
    .action(async (flags: { check?: boolean }) => {
      const appDir = findAppDir();
      const { runCodegen, checkCodegen, CodegenError } = await import('../../codegen/index.js');
      const started = performance.now();
      try {
        if (flags.check) {
          const stale = checkCodegen(appDir);
          for (const file of stale)
            process.stderr.write(`${kleur.red('stale')} ${file.path}: ${file.reason}; run \`valet codegen\`\n`);
          if (stale.length > 0)
            throw new UserError(`${stale.length} generated file${stale.length === 1 ? ' is' : 's are'} stale`);
          process.stderr.write(`${kleur.green('✔')} Generated files are up to date\n`);
          return;
        }
        const { written, model } = runCodegen(appDir);
        const ms = Math.round(performance.now() - started);
        const count = model.modules.reduce((n, m) => n + m.functions.length, 0);
        const modules = model.modules.filter((m) => m.functions.length > 0).length;
        const what = written.length === 0 ? 'up to date' : `wrote ${written.map((p) => p.split('/').pop()).join(', ')}`;
        process.stderr.write(
          `${kleur.green('✔')} Codegen: ${count} function${count === 1 ? '' : 's'} in ${modules} module${modules === 1 ? '' : 's'}, ${what} (${ms} ms)\n`,
        );
      } catch (error) {
        if (error instanceof CodegenError) {
          printCodegenErrors(appDir, error.diagnostics);
          throw new UserError('codegen failed; nothing was written');
        }
        throw error;
      }
    });
}
