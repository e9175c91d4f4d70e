// `valet mcp`: the app as tools for coding agents, over MCP on stdin/stdout (the agent host
// starts it). Read-only unless --allow-writes.
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { findAppDir } from '../../project/app-dir.js';

interface McpOptions {
  app?: string;
  allowWrites?: boolean;
  allowProductionWrites?: boolean;
  showEnvValues?: boolean;
}

export function registerMcp(program: Command): void {
  program
    .command('mcp')
    .description('the app as tools for coding agents, over MCP on stdio (read-only unless --allow-writes)')
    .option('--app <dir>', 'the app folder (default: the one this command runs in)')
    .option('--allow-writes', 'let the agent run mutations and actions, re-run invocations and retry email')
    .option(
      '--allow-production-writes',
      'with --allow-writes: also against a PostgreSQL database or a server not on this machine',
    )
    .option('--show-env-values', 'the env tool shows values too (they are often secrets)')
    .addHelpText(
      'after',
      `
It works through the app's running server (valet dev or valet start) when there is one, and on its
database directly otherwise. Tools: status, functions, tables, data, query (a read-only one-off
query), run, logs, calls, invocations, rerun_invocation, outbox, retry_message, crons, scheduled,
migrations, check, codegen, env; resources: Valet's docs. See docs/agents.md.

Examples:
  $ valet mcp
  $ valet mcp --app ./my-app --allow-writes
  Claude Code: claude mcp add valet -- npx valet mcp
  Cursor (.cursor/mcp.json): { "mcpServers": { "valet": { "command": "npx", "args": ["valet", "mcp"] } } }`,
    )
    .action(async (flags: McpOptions) => {
      const appDir = flags.app
        ? findAppDir(resolve(flags.app), { announce: false })
        : findAppDir(process.cwd(), { announce: false });
      const { serveMcpOverStdio } = await import('../../mcp/server.js');
      await serveMcpOverStdio(appDir, {
        allowWrites: flags.allowWrites === true,
        allowProductionWrites: flags.allowProductionWrites === true && flags.allowWrites === true,
        showEnvValues: flags.showEnvValues === true,
      });
    });
}
