// What happened: function log lines, calls of every kind with their trees, action invocations
// with their args, results and mapped stacks, the outbox, crons, scheduled work, migrations.
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { CALL_KINDS } from '../../runtime/calls/record.js';
import { INVOCATION_STATUSES } from '../../runtime/invocations/statuses.js';
import { OUTBOX_CHANNELS, OUTBOX_STATUSES } from '../../runtime/outbox/statuses.js';
import { SCHEDULED_STATUSES } from '../../runtime/scheduler/statuses.js';
import { answer, failed, guarded } from '../result.js';
import type { AppTarget } from '../target.js';

const list = z.array(z.record(z.string(), z.unknown()));
const limit = z.number().int().min(1).max(1000).optional();

function query(values: Record<string, string | number | undefined>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(values))
    if (value !== undefined && value !== '') params.set(name, String(value));
  const text = params.toString();
  return text ? `?${text}` : '';
}

export function registerActivityTools(server: McpServer, target: AppTarget, now: () => number): void {
  const get = async (path: string, pick: (body: any) => Record<string, unknown>) => {
    const reply = await target.request('GET', path);
    return failed(reply) ?? answer(pick(reply.body));
  };

  server.registerTool(
    'logs',
    {
      title: 'Function logs',
      description:
        "Recent console output of the app's functions, oldest first; after a call's lines, an entry with `outcome` saying how it ended. Filter by function, level, text or call.",
      inputSchema: {
        function: z.string().optional().describe('module:name'),
        level: z.enum(['log', 'info', 'warn', 'error', 'debug']).optional(),
        contains: z.string().optional(),
        call: z.string().optional().describe('the lines of one call'),
        limit: z.number().int().min(1).max(2000).optional(),
      },
      outputSchema: { logs: list },
      annotations: { readOnlyHint: true },
    },
    (input) =>
      guarded(() =>
        get(
          `/admin/logs${query({ function: input.function, level: input.level, q: input.contains, call: input.call, limit: input.limit ?? 200 })}`,
          (body) => ({ logs: body.logs }),
        ),
      ),
  );

  server.registerTool(
    'calls',
    {
      title: 'Calls',
      description:
        'Every call of every kind (query, mutation, action, http, cron), newest first, with caller, source, outcome, error and duration; or one call with its log lines, its error and mapped stack, and its whole trace (the calls it caused and their fetches, emails and scheduled calls).',
      inputSchema: {
        id: z.string().optional().describe('one call, with its trace'),
        kind: z.enum(CALL_KINDS as [string, ...string[]]).optional(),
        function: z.string().optional(),
        outcome: z.enum(['ok', 'error', 'running']).optional(),
        caller: z.string().optional().describe('anonymous, user, user:<id>, system, system:cron …'),
        sinceMinutes: z.number().positive().optional(),
        limit,
      },
      outputSchema: {
        calls: list.optional(),
        call: z.record(z.string(), z.unknown()).optional(),
        trace: list.optional(),
      },
      annotations: { readOnlyHint: true },
    },
    (input) =>
      guarded(() =>
        input.id
          ? get(`/admin/calls/${encodeURIComponent(input.id)}`, (body) => ({ call: body.call, trace: body.trace }))
          : get(
              `/admin/calls${query({
                kind: input.kind,
                function: input.function,
                outcome: input.outcome,
                caller: input.caller,
                since: input.sinceMinutes ? now() - input.sinceMinutes * 60_000 : undefined,
                limit: input.limit ?? 50,
              })}`,
              (body) => ({ calls: body.calls }),
            ),
      ),
  );

  server.registerTool(
    'invocations',
    {
      title: 'Action invocations',
      description:
        'The action invocation log, newest first: function, invoker, status, attempts, duration; or one invocation by id with its args (unless the action is sensitive), result or error with the mapped stack, and its log lines. Re-run one with rerun_invocation.',
      inputSchema: {
        id: z.string().optional(),
        function: z.string().optional(),
        status: z.enum(INVOCATION_STATUSES).optional(),
        limit,
      },
      outputSchema: {
        invocations: list.optional(),
        invocation: z.record(z.string(), z.unknown()).optional(),
        logs: list.optional(),
      },
      annotations: { readOnlyHint: true },
    },
    (input) =>
      guarded(async () => {
        if (!input.id)
          return get(
            `/admin/invocations${query({ function: input.function, status: input.status, limit: input.limit ?? 50 })}`,
            (body) => ({
              invocations: body.invocations,
            }),
          );
        const one = await target.request('GET', `/admin/invocations/${encodeURIComponent(input.id)}`);
        const refused = failed(one);
        if (refused) return refused;
        const logs = await target.request('GET', `/admin/logs${query({ invocation: input.id, limit: 500 })}`);
        return answer({ invocation: one.body, logs: logs.body?.logs ?? [] });
      }),
  );

  server.registerTool(
    'outbox',
    {
      title: 'Outbox',
      description:
        'Email and push messages: queued, sending, sent, failed, dead (dead-lettered); or one by id with its body and every delivery attempt. Retry a failed or dead one with retry_message.',
      inputSchema: {
        id: z.string().optional(),
        status: z.enum(OUTBOX_STATUSES).optional(),
        channel: z.enum(OUTBOX_CHANNELS).optional(),
        limit,
      },
      outputSchema: { messages: list.optional(), message: z.record(z.string(), z.unknown()).optional() },
      annotations: { readOnlyHint: true },
    },
    (input) =>
      guarded(() =>
        input.id
          ? get(`/admin/outbox/${encodeURIComponent(input.id)}`, (body) => ({ message: body }))
          : get(
              `/admin/outbox${query({ status: input.status, channel: input.channel, limit: input.limit ?? 50 })}`,
              (body) => ({
                messages: body.messages,
              }),
            ),
      ),
  );

  server.registerTool(
    'crons',
    {
      title: 'Crons',
      description:
        'The cron jobs of valet/crons.ts with their schedule and next run, and the recent runs (scheduled, by hand, catch-ups) with their outcome.',
      inputSchema: { job: z.string().optional(), limit },
      outputSchema: { jobs: list, runs: list },
      annotations: { readOnlyHint: true },
    },
    (input) =>
      guarded(async () => {
        const jobs = await target.request('GET', '/admin/crons');
        const runs = await target.request(
          'GET',
          `/admin/cron/runs${query({ job: input.job, limit: input.limit ?? 20 })}`,
        );
        return failed(jobs) ?? failed(runs) ?? answer({ jobs: jobs.body.jobs, runs: runs.body.runs });
      }),
  );

  server.registerTool(
    'scheduled',
    {
      title: 'Scheduled work',
      description:
        'Calls scheduled with ctx.scheduler: pending, running, done, failed, canceled, with when they run and who scheduled them.',
      inputSchema: { status: z.enum(SCHEDULED_STATUSES).optional(), limit },
      outputSchema: { scheduled: list },
      annotations: { readOnlyHint: true },
    },
    (input) =>
      guarded(() =>
        get(`/admin/scheduled${query({ status: input.status, limit: input.limit ?? 50 })}`, (body) => ({
          scheduled: body.scheduled,
        })),
      ),
  );

  server.registerTool(
    'migrations',
    {
      title: 'Migrations',
      description:
        'The data migrations of valet/ (defineMigration) with their state and progress. `valet migrate` runs them.',
      inputSchema: {},
      outputSchema: { migrations: list },
      annotations: { readOnlyHint: true },
    },
    () => guarded(() => get('/admin/migrations', (body) => ({ migrations: body.migrations }))),
  );
}
