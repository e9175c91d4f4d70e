// The app as an agent reads it: its functions (kind, access, args and return as JSON Schema,
// file:line), its tables (fields, indexes, counts), their documents (a page, by an index with
// bounds and filters, or by id), and a one-off read-only query it writes itself.
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { answer, failed, guarded } from '../result.js';
import type { AppTarget } from '../target.js';

const list = z.array(z.record(z.string(), z.unknown()));

export function registerAppTools(server: McpServer, target: AppTarget): void {
  server.registerTool(
    'functions',
    {
      title: 'Functions',
      description:
        'Every function of the app (module:name) with its kind (query, mutation, action), access (public, authenticated, system), args and return value as JSON Schema, and where it is defined (file:line). Call them with the run tool.',
      inputSchema: {},
      outputSchema: { functions: list },
      annotations: { readOnlyHint: true },
    },
    () =>
      guarded(async () => {
        const reply = await target.request('GET', '/admin/functions');
        const refused = failed(reply);
        if (refused) return refused;
        const functions = (reply.body.functions as any[]).map((fn) => ({
          path: fn.path,
          kind: fn.kind,
          access: fn.access,
          args: fn.argsSchema,
          returns: fn.returnsSchema,
          file: fn.location?.file ?? null,
          line: fn.location?.line ?? null,
          ...(fn.kind === 'action' ? { safeToRetry: fn.safeToRetry, sensitive: fn.sensitive } : {}),
        }));
        return answer({ functions });
      }),
  );

  server.registerTool(
    'tables',
    {
      title: 'Tables',
      description:
        'The tables of valet/schema.ts (and any others holding documents): fields with their types, indexes, search indexes, and document counts.',
      inputSchema: {},
      outputSchema: { tables: list },
      annotations: { readOnlyHint: true },
    },
    () =>
      guarded(async () => {
        const reply = await target.request('GET', '/admin/data');
        return failed(reply) ?? answer({ tables: reply.body.tables });
      }),
  );

  server.registerTool(
    'data',
    {
      title: 'Documents',
      description:
        'Documents of one table: one by id, or a page (newest first, or in the order of an index, with its first field equal to a value or between bounds), with filters (field op value, `a.b` for nested fields). Pass the returned cursor for the next page.',
      inputSchema: {
        table: z.string().describe('the table'),
        id: z.string().optional().describe('one document by its _id'),
        index: z.string().optional().describe('an index of the table (by_creation_time, or one of its own)'),
        equals: z.unknown().optional().describe("the index's first field equals this value"),
        from: z.unknown().optional().describe("the index's first field is at least this (with index)"),
        to: z.unknown().optional().describe("the index's first field is at most this (with index)"),
        order: z.enum(['asc', 'desc']).optional(),
        filters: z
          .array(
            z.object({ field: z.string(), op: z.enum(['eq', 'neq', 'lt', 'lte', 'gt', 'gte']), value: z.unknown() }),
          )
          .max(10)
          .optional(),
        limit: z.number().int().min(1).max(200).optional().describe('documents per page (default 25)'),
        cursor: z.string().optional().describe('the cursor of the previous page'),
      },
      outputSchema: {
        documents: list,
        isDone: z.boolean(),
        continueCursor: z.string().nullable(),
      },
      annotations: { readOnlyHint: true },
    },
    (input) =>
      guarded(async () => {
        const table = encodeURIComponent(input.table);
        if (input.id) {
          const reply = await target.request('GET', `/admin/data/${table}/${encodeURIComponent(input.id)}`);
          return failed(reply) ?? answer({ documents: [reply.body.document], isDone: true, continueCursor: null });
        }
        const params = new URLSearchParams({ limit: String(input.limit ?? 25) });
        if (input.cursor) params.set('cursor', input.cursor);
        if (input.index) params.set('index', input.index);
        if (input.order) params.set('order', input.order);
        if (input.equals !== undefined) params.set('eq', JSON.stringify(input.equals));
        if (input.from !== undefined) params.set('from', JSON.stringify(input.from));
        if (input.to !== undefined) params.set('to', JSON.stringify(input.to));
        if (input.filters?.length) params.set('filter', JSON.stringify(input.filters));
        const reply = await target.request('GET', `/admin/data/${table}?${params}`);
        return (
          failed(reply) ??
          answer({
            documents: reply.body.documents,
            isDone: reply.body.isDone,
            continueCursor: reply.body.isDone ? null : reply.body.continueCursor,
          })
        );
      }),
  );

  server.registerTool(
    'query',
    {
      title: 'One-off query',
      description:
        "Runs a read-only query you write, as the body of an async function of `ctx` (e.g. `return await ctx.db.query('users').withIndex('by_email', q => q.eq('email', 'ada@example.com')).take(5)`), in one snapshot of the database, with a time limit and a cap on the rows returned. Writes, scheduling, email and fetch are refused. Under valet dev, or with no server running (never against valet start).",
      inputSchema: {
        source: z.string().min(1).max(20_000).describe('the body of `async (ctx) => { … }`, or such a function'),
        timeoutMs: z.number().int().min(1).max(30_000).optional().describe('time limit (default 5000)'),
        limit: z.number().int().min(1).max(1000).optional().describe('rows returned at most (default 100)'),
      },
      outputSchema: {
        ok: z.boolean(),
        value: z.unknown().optional(),
        truncated: z.boolean().optional(),
        rows: z.number().nullable().optional(),
        error: z.object({ code: z.string(), message: z.string() }).optional(),
        callId: z.string(),
      },
      annotations: { readOnlyHint: true },
    },
    (input) =>
      guarded(async () => {
        const reply = await target.request('POST', '/admin/query', input);
        const refused = failed(reply);
        if (refused) return refused;
        const result = { ...reply.body } as Record<string, unknown>;
        return result.ok ? answer(result) : { ...answer(result), isError: true };
      }),
  );
}
