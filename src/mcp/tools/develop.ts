// The toolchain as tools: `valet check` (its findings as data), `valet codegen`, and the
// environment the functions see — names and where each comes from, never values unless
// `valet mcp --show-env-values`.
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import type { McpFlags } from '../policy.js';
import { answer, guarded } from '../result.js';
import type { AppTarget } from '../target.js';

export function registerDevelopTools(server: McpServer, target: AppTarget, flags: McpFlags): void {
  server.registerTool(
    'check',
    {
      title: 'valet check',
      description:
        "Runs valet check on the app: generated files current, the TypeScript type-check, and Valet's static rules (fetch in a mutation, writes outside a transaction, a missing deliveryKey…). Each finding with file:line, rule, severity, message and the fix.",
      inputSchema: { typecheck: z.boolean().optional().describe('run the TypeScript check too (default true)') },
      outputSchema: {
        findings: z.array(z.record(z.string(), z.unknown())),
        errorCount: z.number(),
        warningCount: z.number(),
        ran: z.array(z.string()),
      },
      annotations: { readOnlyHint: true },
    },
    (input) =>
      guarded(async () => {
        const { runCheck } = await import('../../check/index.js');
        const report = await runCheck(target.appDir, { typecheck: input.typecheck ?? true });
        return answer({
          findings: report.findings.map((f) => ({ ...f })),
          errorCount: report.errorCount,
          warningCount: report.warningCount,
          ran: report.ran,
        });
      }),
  );

  server.registerTool(
    'codegen',
    {
      title: 'valet codegen',
      description:
        'Writes valet/_generated/valet/ (the typed api, data model and React hooks) from the modules of valet/, as valet dev does on every save. Answers which files changed.',
      inputSchema: {},
      outputSchema: { written: z.array(z.string()), modules: z.number() },
    },
    () =>
      guarded(async () => {
        const { runCodegen } = await import('../../codegen/index.js');
        const result = runCodegen(target.appDir);
        return answer({ written: result.written, modules: result.model.modules.length });
      }),
  );

  server.registerTool(
    'env',
    {
      title: 'Environment',
      description: `The environment variables the app's functions see (from .env files and VALET_*), with where each comes from. ${flags.showEnvValues ? 'Values are shown (valet mcp --show-env-values).' : 'Values are never shown (they are often secrets) unless valet mcp was started with --show-env-values.'}`,
      inputSchema: {
        mode: z.enum(['development', 'production']).optional(),
        all: z.boolean().optional().describe('every variable of the environment, not only .env files and VALET_*'),
      },
      outputSchema: {
        variables: z.array(z.object({ name: z.string(), source: z.string(), value: z.string().nullable() })),
      },
      annotations: { readOnlyHint: true },
    },
    (input) =>
      guarded(async () => {
        const { AppEnv } = await import('../../project/env-files.js');
        const variables = new AppEnv(target.appDir, input.mode ?? 'development')
          .variables(input.all)
          .map((v) => ({ name: v.name, source: v.source, value: flags.showEnvValues ? v.value : null }));
        return answer({ variables });
      }),
  );
}
