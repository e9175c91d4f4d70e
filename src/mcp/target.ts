// Where `valet mcp`'s tools go: the app's running server (valet dev / valet start) through the
// admin API the CLI and the dashboard use, or — when none runs — an engine of its own on the
// app's database, answering the very same admin routes in-process. Decided per call: a server
// started or stopped while the agent works is noticed.
import { isIP } from 'node:net';
import { requestInProcess } from '../http/handler.js';
import { accessPolicyFrom } from '../http/security.js';
import type { HttpContext } from '../http/types.js';
import { loadOrCreateAdminKey } from '../project/keys.js';
import type { Engine } from '../runtime/engine.js';
import { databaseTargetOf } from '../serve/database-target.js';
import { createDashboard } from '../serve/dashboard-setup.js';
import { openLocalEngine, runningServerOf } from '../ops/server-or-local.js';
import type { ServerHandle } from '../ops/server-or-local.js';

export interface AdminAnswer {
  status: number;
  body: any;
  /** Lower-case names. */
  headers: Record<string, string>;
}

export interface Where {
  mode: 'server' | 'local';
  /** The running server's URL (server mode). */
  url: string | null;
  backend: 'sqlite' | 'postgres';
  database: string;
  /** A PostgreSQL database or a server not on this machine: writes need --allow-production-writes. */
  production: boolean;
}

function isLoopback(url: string): boolean {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  if (host === 'localhost') return true;
  return isIP(host) !== 0 && (host.startsWith('127.') || host === '::1');
}

/** How long the answer to "is a server running?" is trusted (asking probes the server). */
const SERVER_CHECK_MS = 2_000;

export class AppTarget {
  private local: { engine: Engine; context: HttpContext; close(): Promise<void> } | null = null;
  private checked: { at: number; server: ServerHandle | null } | null = null;

  constructor(
    readonly appDir: string,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  /** Where a call would go now. */
  async where(): Promise<Where> {
    const database = databaseTargetOf(this.appDir, this.env);
    const server = await this.server();
    return {
      mode: server ? 'server' : 'local',
      url: server?.url ?? null,
      backend: database.backend,
      database: database.display,
      production: database.backend === 'postgres' || (server !== null && !isLoopback(server.url)),
    };
  }

  /** One admin (or /api) request, to the running server or the in-process engine. */
  async request(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<AdminAnswer> {
    const init: RequestInit = {
      method,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    };
    const server = await this.server();
    if (server) {
      await this.closeLocal();
      let response: Response;
      try {
        response = await server.fetch(path, init);
      } catch (error) {
        // The server went away since it was last seen: ask again (the database, perhaps).
        this.checked = null;
        if (await this.server()) throw error;
        return this.request(method, path, body, headers);
      }
      return answerOf(response);
    }
    const local = await this.openLocal();
    return answerOf(
      await requestInProcess(local.context, path, {
        ...init,
        headers: { ...(init.headers as Record<string, string>), 'x-valet-admin-key': local.context.adminKey },
      }),
    );
  }

  /** The running server, if any: asked again every couple of seconds, so a start or stop is noticed. */
  private async server(): Promise<ServerHandle | null> {
    const now = performance.now();
    if (this.checked && now - this.checked.at < SERVER_CHECK_MS) return this.checked.server;
    const server = await runningServerOf(this.appDir, this.env);
    this.checked = { at: performance.now(), server };
    return server;
  }

  private async openLocal() {
    if (this.local) return this.local;
    const { engine, close } = await openLocalEngine(this.appDir, this.env);
    const context: HttpContext = {
      engine,
      adminKey: this.env.VALET_ADMIN_KEY?.trim() || loadOrCreateAdminKey(this.appDir),
      policy: accessPolicyFrom('dev', '127.0.0.1', this.env),
      oneOffQueries: true,
      // For the routes that read what a server keeps beside the database: the log file, sources.
      dashboard: createDashboard({
        appDir: this.appDir,
        mode: 'dev',
        adminKey: 'unused',
        database: databaseTargetOf(this.appDir, this.env).display,
        connections: () => engine.connections,
        callsVersion: () => String(engine.calls.version),
      }),
    };
    this.local = { engine, context, close };
    return this.local;
  }

  private async closeLocal(): Promise<void> {
    const local = this.local;
    this.local = null;
    await local?.close();
  }

  async close(): Promise<void> {
    await this.closeLocal();
  }
}

async function answerOf(response: Response): Promise<AdminAnswer> {
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    // Not JSON (Prometheus text): kept as it is.
  }
  return { status: response.status, body, headers: Object.fromEntries(response.headers) };
}
