// /api/health and /api/ready, for load balancers and orchestrators (they probe by any name, so
// both answer before the Host check). Health: this process is up. Ready: it should get traffic —
// it has an engine (a dev server's first build succeeded), its database answers, its migrations
// ran (the engine exists only after), its background work is running, and it is not shutting down.
import { ERROR_CODES } from '../protocol/error-codes.js';
import type { HttpReply } from './types.js';
import type { HttpContext } from './types.js';
import { jsonReply } from './respond.js';

const PING_TIMEOUT_MS = 2_000;

function notReady(reason: string, code: 'not_ready' | 'shutting_down' = 'not_ready'): HttpReply {
  return jsonReply(ERROR_CODES[code].status, { ready: false, code, reason });
}

export async function readiness(context: HttpContext): Promise<HttpReply> {
  if (context.draining) return notReady('shutting down', 'shutting_down');
  const engine = context.engine;
  if (!engine) return notReady(context.notReadyReason ?? 'starting');
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${PING_TIMEOUT_MS} ms`)), PING_TIMEOUT_MS);
    });
    await Promise.race([engine.connections.autoCommit.sql.get('SELECT 1 AS ok'), timeout]);
  } catch (error) {
    return notReady(`the database does not answer: ${(error as Error).message}`);
  } finally {
    clearTimeout(timer);
  }
  if (!engine.workersRunning) return notReady('background work is starting');
  // lostClaims: work this instance lost to another while it ran it (a pause past the TTL, a partition).
  return jsonReply(200, {
    ready: true,
    instance: engine.instance?.id ?? null,
    database: engine.connections.backend,
    lostClaims: engine.lostClaims,
  });
}
