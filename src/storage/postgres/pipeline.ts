// Several statements sent to PostgreSQL at once, over the extended protocol with a single Sync:
// one write, one round trip. A transaction's BEGIN goes out with its first statement, and its
// COMMIT with its last (the change log's row), so a one-write mutation costs two round trips, not
// four. The protocol makes it safe: after an error the server skips every message up to the Sync,
// so a COMMIT behind a failed statement never runs, and a failure before it is "not applied".
import pgModule from 'pg';
import type pg from 'pg';

export interface PipelineStep {
  text: string;
  /** A named prepared statement (parsed once per connection); BEGIN and COMMIT go unnamed. */
  name?: string;
  values?: unknown[];
}

/** What pg's Connection offers a submitted query (not in its type declarations). */
interface ProtocolConnection {
  parsedStatements: Record<string, string>;
  submittedNamedStatements: Record<string, string>;
  parse(message: { text: string; name: string }): void;
  bind(message: { portal: string; statement: string; values: unknown[] }): void;
  describe(message: { type: 'P'; name: string }): void;
  execute(message: { portal: string }): void;
  sync(): void;
  on(event: 'parseComplete', listener: () => void): void;
  off(event: 'parseComplete', listener: () => void): void;
  stream: { cork?: () => void; uncork?: () => void };
}

/** The parts of pg's Query a pipeline builds on (its type declarations show only `submit`). */
interface QueryInternals {
  handleCommandComplete(message: unknown, connection: unknown): void;
  handleError(error: Error, connection: unknown): void;
  handleReadyForQuery(connection: unknown): void;
}
const Query = pgModule.Query as unknown as new (config: {
  text: string;
  callback: (error: Error | null, results: pg.QueryResult | pg.QueryResult[]) => void;
}) => QueryInternals;

const prepareValue = (pgModule as unknown as { utils: { prepareValue: (value: unknown) => unknown } }).utils
  .prepareValue;

/**
 * A pg Query that runs `steps` in order. pg hands it the server's messages as for any query: its
 * results are one per step. `completed` counts the steps the server finished, so a caller can tell
 * which one failed.
 */
class PipelinedQuery extends Query {
  completed = 0;
  private parses: (string | null)[] = [];
  private parsed = 0;
  private connection: ProtocolConnection | null = null;

  constructor(
    private readonly steps: PipelineStep[],
    callback: (error: Error | null, results: pg.QueryResult | pg.QueryResult[]) => void,
  ) {
    super({ text: steps.map((step) => step.text).join('; '), callback });
  }

  requiresPreparation(): boolean {
    return true;
  }

  prepare(protocol: unknown): void {
    const connection = protocol as ProtocolConnection;
    this.connection = connection;
    // A named statement counts as prepared on this connection only once the server said so.
    connection.on('parseComplete', this.onParseComplete);
    for (const step of this.steps) {
      const name = step.name ?? '';
      const known = name && (connection.parsedStatements[name] ?? connection.submittedNamedStatements[name]);
      if (!known) {
        connection.parse({ text: step.text, name });
        this.parses.push(name || null);
        if (name) connection.submittedNamedStatements[name] = step.text;
      }
      connection.bind({ portal: '', statement: name, values: step.values ?? [] });
      connection.describe({ type: 'P', name: '' });
      connection.execute({ portal: '' });
    }
    connection.sync();
  }

  private readonly onParseComplete = () => {
    const name = this.parses[this.parsed++];
    if (!name || !this.connection) return;
    this.connection.parsedStatements[name] = this.steps.find((step) => step.name === name)!.text;
    delete this.connection.submittedNamedStatements[name];
  };

  private settle(): void {
    this.connection?.off('parseComplete', this.onParseComplete);
    if (!this.connection) return;
    // Statements whose parse the server never confirmed (it skipped them after an error) are not prepared.
    for (const name of this.parses.slice(this.parsed)) if (name) delete this.connection.submittedNamedStatements[name];
    this.connection = null;
  }

  override handleCommandComplete(message: unknown, connection: unknown): void {
    this.completed++;
    super.handleCommandComplete(message, connection);
  }

  override handleError(error: Error, connection: unknown): void {
    this.settle();
    super.handleError(error, connection);
  }

  override handleReadyForQuery(connection: unknown): void {
    this.settle();
    super.handleReadyForQuery(connection);
  }
}

/** A pipeline that failed: `cause` is the driver's error. */
export class PipelineError extends Error {
  constructor(
    cause: unknown,
    /** How many of the steps the server finished before it failed. */
    readonly completed: number,
    /** Whether anything was sent (false: refused before the first byte). */
    readonly sent = true,
  ) {
    super((cause as Error)?.message ?? String(cause), { cause });
  }
}

/** Runs `steps` in one round trip; the results, one per step. Fails with a PipelineError. */
export function runPipeline(client: pg.PoolClient, given: PipelineStep[]): Promise<pg.QueryResult[]> {
  let steps: PipelineStep[];
  try {
    // Values made wire-ready before anything is sent: one that cannot be (a value JSON refuses)
    // fails here, not halfway through writing the pipeline.
    steps = given.map((step) => (step.values ? { ...step, values: step.values.map(prepareValue) } : step));
  } catch (error) {
    return Promise.reject(new PipelineError(error, 0, false));
  }
  return new Promise((resolve, reject) => {
    const query: PipelinedQuery = new PipelinedQuery(steps, (error, results) => {
      if (error) reject(new PipelineError(error, query.completed));
      else resolve(Array.isArray(results) ? results : [results]);
    });
    client.query(query as never);
  });
}
