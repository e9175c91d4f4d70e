// `valet mcp` as a programmatic API: an MCP server (the official SDK) whose tools are the app —
// status, functions, data, a read-only query, run, logs, calls, invocations, outbox, crons,
// scheduled work, migrations, check, codegen, env — and whose resources are Valet's docs.
// Read-only unless asked (McpFlags); every tool goes through the admin API (target.ts).
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { packageJson } from '../project/package-info.js';
import { systemClock } from '../runtime/clock.js';
import type { McpFlags } from './policy.js';
import { registerDocs } from './resources.js';
import { AppTarget } from './target.js';
import { registerActTools } from './tools/act.js';
import { registerActivityTools } from './tools/activity.js';
import { registerAppTools } from './tools/app.js';
import { registerDevelopTools } from './tools/develop.js';
import { registerStatus } from './tools/status.js';

export type { McpFlags } from './policy.js';

export function createMcpServer(appDir: string, flags: McpFlags, env: NodeJS.ProcessEnv = process.env) {
  const target = new AppTarget(appDir, env);
  const server = new McpServer(
    { name: 'valet', version: packageJson().version },
    {
      instructions:
        'Tools for a Valet app (a TypeScript backend in valet/). Start with status; functions and tables describe the app; logs, calls and invocations say what happened and why (with file:line); docs are resources (valet-docs://…). Writes (run of a mutation or action, rerun_invocation, retry_message) need valet mcp --allow-writes.',
    },
  );
  const now = () => systemClock.now();
  registerStatus(server, target, flags, now);
  registerAppTools(server, target);
  registerActivityTools(server, target, now);
  registerActTools(server, target, flags);
  registerDevelopTools(server, target, flags);
  registerDocs(server);
  return { server, target };
}

/** Serves MCP over stdin/stdout until the client goes away; stdout carries only the protocol. */
export async function serveMcpOverStdio(appDir: string, flags: McpFlags): Promise<void> {
  // Anything else printed (a function's console.log, a library's) must not corrupt the protocol.
  console.log = console.error;
  console.info = console.error;
  console.debug = console.error;
  const { server, target } = createMcpServer(appDir, flags);
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    transport.onclose = () => resolve();
    process.stdin.once('end', () => resolve());
  });
  await server.connect(transport);
  process.stderr.write(
    `valet mcp: serving ${appDir} over stdio (${flags.allowWrites ? `writes allowed${flags.allowProductionWrites ? ', production too' : ''}` : 'read-only'})\n`,
  );
  await closed;
  await server.close().catch(() => undefined);
  await target.close();
}
