// `status`: the app, where it runs (valet dev or start, its URL, the database), the build — with
// the failing file:line and code frame of a broken save, and type errors — whether writes are
// allowed, and what went wrong in the last hour (failed invocations and calls, dead email).
import { basename } from 'node:path';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import type { McpFlags } from '../policy.js';
import { answer, guarded } from '../result.js';
import type { AppTarget } from '../target.js';

const HOUR = 60 * 60 * 1000;

/** A build that failed before any engine ran (no server, a broken file): its problem, as the dev server shows one. */
function buildFailure(error: unknown) {
  const location = (error as { location?: { file: string; line?: number; column?: number } }).location;
  const frame = (error as { frame?: string }).frame;
  return {
    stage: 'build',
    keptServing: false,
    problems: [
      {
        message: error instanceof Error ? error.message : String(error),
        file: location?.file ?? null,
        line: location?.line ?? null,
        column: location?.column ?? null,
        frame: frame ?? null,
      },
    ],
  };
}

export function registerStatus(server: McpServer, target: AppTarget, flags: McpFlags, now: () => number): void {
  server.registerTool(
    'status',
    {
      title: 'App status',
      description:
        "Start here. The app, whether a server runs it (valet dev or valet start, its URL) or this tool works on the database directly, the backend, the build state (a broken save's file:line and code frame, type errors), whether writes are allowed, and the failed invocations and calls and dead email of the last hour.",
      inputSchema: {},
      outputSchema: {
        app: z.string(),
        server: z.object({ running: z.boolean(), mode: z.string().nullable(), url: z.string().nullable() }),
        database: z.object({ backend: z.string(), target: z.string() }),
        build: z.record(z.string(), z.unknown()),
        writes: z.object({ allowed: z.boolean(), production: z.boolean(), productionAllowed: z.boolean() }),
        lastHour: z.record(z.string(), z.unknown()).nullable(),
      },
      annotations: { readOnlyHint: true },
    },
    () =>
      guarded(async () => {
        const where = await target.where();
        let state: any = null;
        let build: Record<string, unknown>;
        try {
          state = (await target.request('GET', '/admin/state')).body;
          const dashboard = state?.build;
          build = {
            status: dashboard?.status ?? (state?.ready ? 'serving' : 'not ready'),
            functions: state?.functions ?? 0,
            error: dashboard?.error ?? (state?.ready ? null : { message: state?.notReadyReason }),
            typeErrors: dashboard?.typeErrors ?? [],
          };
        } catch (error) {
          build = { status: 'failed', functions: 0, error: buildFailure(error), typeErrors: [] };
        }
        let lastHour: Record<string, unknown> | null = null;
        if (state?.ready) {
          const since = now() - HOUR;
          const failedInvocations = await target.request(
            'GET',
            `/admin/invocations?status=failed&since=${since}&limit=1000`,
          );
          const failedCalls = await target.request('GET', `/admin/calls?outcome=error&since=${since}&limit=1000`);
          const dead = await target.request('GET', '/admin/outbox?status=dead&limit=1000');
          const deadRecent = ((dead.body?.messages ?? dead.body?.emails ?? []) as { createdAt?: string }[]).filter(
            (m) => !m.createdAt || Date.parse(m.createdAt) >= since,
          );
          lastHour = {
            failedInvocations: failedInvocations.body?.invocations?.length ?? 0,
            failedCalls: failedCalls.body?.calls?.length ?? 0,
            deadMessages: deadRecent.length,
          };
        }
        return answer({
          app: basename(target.appDir),
          server: {
            running: where.mode === 'server',
            mode: where.mode === 'server' ? (state?.build?.mode ?? null) : null,
            url: where.url,
          },
          database: { backend: where.backend, target: where.database },
          build,
          writes: {
            allowed: flags.allowWrites,
            production: where.production,
            productionAllowed: flags.allowProductionWrites,
          },
          lastHour,
        });
      }),
  );
}
