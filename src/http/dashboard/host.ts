// What a server tells its dashboard: the app, the build's state (dev: building, serving, the last
// failure with its code frame; start: serving), and where its static files and logs are. One per
// server; `valet dev` updates it from its reload events.
import type { Connections } from '../../runtime/connections/types.js';
import { DashboardAccess } from './access.js';
import { ChangeFeed } from './feed.js';

export interface DashboardProblem {
  file?: string;
  line?: number;
  column?: number;
  message: string;
  /** The source lines around it, as the terminal shows them. */
  frame?: string;
}

export interface DashboardState {
  app: string;
  mode: 'dev' | 'start';
  status: 'building' | 'serving' | 'failed';
  functions: number;
  database: string;
  /** The last reload that failed (cleared by the next good one). */
  error: { stage: string; problems: DashboardProblem[]; keptServing: boolean; at: string } | null;
  typeErrors: DashboardProblem[];
  /** What the last load built (`search index built: messages.search_body (1,200 documents)`), or null. */
  searchIndexes: string | null;
  docs: string;
}

export interface DashboardOptions {
  adminKey: string;
  app: string;
  mode: 'dev' | 'start';
  database: string;
  /** .valet/logs.ndjson: the functions' console output. */
  logsFile: string | null;
  /** The built page (index.html and assets/). */
  assetsDir: string;
  connections: () => Connections | null;
  /** The activity log's version (the engine's, once there is one). */
  callsVersion: () => string;
  /** The app's folder: a call's page shows the source line that failed. */
  appDir: string;
}

const DOCS_URL = 'https://github.com/valet-dev/valet/tree/main/docs';

export class DashboardHost {
  readonly access: DashboardAccess;
  readonly feed: ChangeFeed;
  readonly assetsDir: string;
  readonly logsFile: string | null;
  readonly appDir: string;
  private url = '';
  private current: DashboardState;
  private version = 0;
  private readonly streams = new Set<() => void>();

  constructor(options: DashboardOptions) {
    this.access = new DashboardAccess(options.adminKey);
    this.assetsDir = options.assetsDir;
    this.logsFile = options.logsFile;
    this.appDir = options.appDir;
    this.current = {
      app: options.app,
      mode: options.mode,
      status: 'building',
      functions: 0,
      database: options.database,
      error: null,
      typeErrors: [],
      searchIndexes: null,
      docs: DOCS_URL,
    };
    this.feed = new ChangeFeed({
      db: async () => (await options.connections()?.changeMarker()) ?? 'none',
      logsFile: options.logsFile,
      state: () => String(this.version),
      calls: options.callsVersion,
    });
  }

  /** The server's URL, once it listens. */
  setUrl(url: string): void {
    this.url = url;
  }

  baseUrl(): string {
    return this.url;
  }

  port(): string {
    return new URL(this.url || 'http://127.0.0.1:0').port;
  }

  state(): DashboardState {
    return this.current;
  }

  update(change: Partial<DashboardState>): void {
    this.current = { ...this.current, ...change };
    this.version++;
  }

  /** Open event streams end with the server (they would otherwise hold its shutdown). */
  addStream(end: () => void): () => void {
    this.streams.add(end);
    return () => this.streams.delete(end);
  }

  close(): void {
    for (const end of [...this.streams]) end();
    this.feed.stop();
  }
}
