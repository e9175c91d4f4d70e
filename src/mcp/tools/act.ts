// The tools that change things — only with `valet mcp --allow-writes` (and, for a PostgreSQL
// database or a server elsewhere, --allow-production-writes): run a mutation or an action, re-run
// an invocation, retry a message. Queries always run. Each call is an ordinary call, recorded in
// the activity log with source `mcp` (as the system, its invoker is `system` from `mcp`).
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import type { McpFlags } from '../policy.js';
import { writeRefusal } from '../policy.js';
import { answer, failed, guarded, refusal } from '../result.js';
import type { AppTarget } from '../target.js';

const MCP = { 'x-valet-source': 'mcp' };

export function registerActTools(server: McpServer, target: AppTarget, flags: McpFlags): void {
  server.registerTool(
    'run',
    {
      title: 'Run a function',
      description:
        'Calls a function of the app as anonymous, a user (user:<id>) or the system (default). Queries always run; mutations and actions are writes, allowed only when valet mcp was started with --allow-writes. Answers the value, or the error with its code; an action answers its invocation id too.',
      inputSchema: {
        function: z.string().describe('module:name, from the functions tool'),
        args: z.record(z.string(), z.unknown()).optional(),
        as: z.string().optional().describe('system (default), anonymous, or user:<id>'),
        idempotencyKey: z.string().optional().describe('actions: the Idempotency-Key'),
      },
      outputSchema: {
        ok: z.boolean(),
        kind: z.string(),
        value: z.unknown().optional(),
        error: z.record(z.string(), z.unknown()).optional(),
        invocationId: z.string().nullable(),
      },
      annotations: { destructiveHint: true, openWorldHint: true },
    },
    (input) =>
      guarded(async () => {
        const functions = await target.request('GET', '/admin/functions');
        const refused = failed(functions);
        if (refused) return refused;
        const fn = (functions.body.functions as { path: string; kind: string }[]).find(
          (f) => f.path === input.function,
        );
        if (!fn) return refusal(`no function ${input.function} (the functions tool lists them)`);
        if (fn.kind !== 'query') {
          const why = await writeRefusal(target, flags, `running ${fn.kind} ${fn.path}`);
          if (why) return refusal(why);
        }
        const headers: Record<string, string> = { ...MCP, 'x-valet-as': input.as ?? 'system' };
        if (input.idempotencyKey) headers['idempotency-key'] = input.idempotencyKey;
        const reply = await target.request(
          'POST',
          `/api/${fn.kind}`,
          { path: fn.path, args: input.args ?? {} },
          headers,
        );
        const ok = reply.status === 200;
        const data = {
          ok,
          kind: fn.kind,
          ...(ok ? { value: reply.body.value } : { error: reply.body }),
          invocationId: reply.headers['valet-invocation-id'] ?? null,
        };
        return ok ? answer(data) : { ...answer(data), isError: true };
      }),
  );

  server.registerTool(
    'rerun_invocation',
    {
      title: 'Re-run an invocation',
      description:
        'Runs an action invocation again as the same invoker, with its args or new ones: a new invocation linked to the first. A write (needs --allow-writes).',
      inputSchema: { id: z.string(), args: z.record(z.string(), z.unknown()).optional() },
      outputSchema: { invocationId: z.string().nullable(), status: z.number(), body: z.unknown() },
      annotations: { destructiveHint: true, openWorldHint: true },
    },
    (input) =>
      guarded(async () => {
        const why = await writeRefusal(target, flags, `re-running invocation ${input.id}`);
        if (why) return refusal(why);
        const reply = await target.request(
          'POST',
          `/admin/invocations/${encodeURIComponent(input.id)}/rerun`,
          { args: input.args },
          MCP,
        );
        return failed(reply) ?? answer(reply.body);
      }),
  );

  server.registerTool(
    'retry_message',
    {
      title: 'Retry an email or push message',
      description:
        'Queues a failed or dead-lettered outbox message again (its attempts start over). A write (needs --allow-writes).',
      inputSchema: { id: z.string() },
      outputSchema: { retried: z.number() },
      annotations: { destructiveHint: false, openWorldHint: true },
    },
    (input) =>
      guarded(async () => {
        const why = await writeRefusal(target, flags, `retrying message ${input.id}`);
        if (why) return refusal(why);
        const reply = await target.request('POST', `/admin/outbox/${encodeURIComponent(input.id)}/retry`, {}, MCP);
        return failed(reply) ?? answer({ retried: (reply.body?.queued as unknown[] | undefined)?.length ?? 0 });
      }),
  );
}
