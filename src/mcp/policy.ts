// Whether an MCP client may write: never unless `valet mcp --allow-writes`, and against a
// PostgreSQL database or a server on another machine only with --allow-production-writes too.
import type { AppTarget } from './target.js';

export interface McpFlags {
  allowWrites: boolean;
  allowProductionWrites: boolean;
  showEnvValues: boolean;
}

/** Why a write is refused, or null when it may go ahead. */
export async function writeRefusal(target: AppTarget, flags: McpFlags, what: string): Promise<string | null> {
  if (!flags.allowWrites)
    return `${what} is a write, and this valet mcp is read-only: start it with --allow-writes to let the agent write`;
  const where = await target.where();
  if (where.production && !flags.allowProductionWrites)
    return `${what} would write to ${where.mode === 'server' ? `the server at ${where.url}` : where.database}, which is not a local development database: valet mcp also needs --allow-production-writes for that`;
  return null;
}
