// The shapes every caller of the engine shares: one call in (HTTP, sync clients, the CLI, cron,
// the scheduler, ctx.runQuery), one response out, and what the call path needs of the engine.
import type { PushPolicy } from '../outbox/push-api.js';
import type { Invoker } from '../../server/ctx.js';
import type { FunctionKind } from '../../server/functions.js';
import type { DocumentStore } from '../../storage/documents.js';
import type { Read } from '../../storage/read-set.js';
import type { ErrorBody } from '../../protocol/errors.js';
import type { CallLog } from '../calls/log.js';
import type { CallParent, CallSource } from '../calls/record.js';
import type { Fence } from '../claims/fence.js';
import type { LastingWrites } from '../claims/lasting-write.js';
import type { Clock } from '../clock.js';
import type { Connections } from '../connections/types.js';
import type { FetchPolicy } from '../fetch-guard/guard.js';
import type { FileService } from '../files/service.js';
import type { Registry } from '../registry.js';
import type { ClientSequence } from './client-sequence.js';

export interface CallRequest {
  /** The endpoint the caller used; a mismatch with the function's kind is refused. */
  kind: FunctionKind;
  path: string;
  args: unknown;
  invoker: Invoker;
  /** Calls from outside (HTTP clients) cannot see `system` functions. */
  external: boolean;
  idempotencyKey?: string | null;
  /** Queries: return what the query read, so a subscription knows which writes affect it. */
  trackReads?: boolean;
  /** Mutations from a client's queue: applied exactly once and in order per client. */
  client?: ClientSequence;
  /** Show a plain exception's real message to this caller (the developer's own terminal, an admin). */
  exposeErrors?: boolean;
  /** How many actions deep (ctx.runAction): bounded, so actions cannot recurse without end. */
  depth?: number;
  /**
   * The claim this call runs under (a scheduled call, a cron run, the action that called it):
   * its writes commit only while the claim holds (claims/fence.ts).
   */
  fence?: Fence;
  /** How the call arrived (the activity log's "source"); `function` when another function made it. */
  source?: CallSource;
  /** The call that caused this one (ran it, scheduled it, the cron tick): its id and its trace's root. */
  parent?: CallParent | null;
  /** A live query's re-run: counted in the metrics, kept in the activity log only when it fails. */
  rerun?: boolean;
}

export interface CallResponse {
  status: number;
  /** `{ value }` on success, `{ code, message, data? }` on failure. */
  body: { value: unknown } | ErrorBody;
  headers: Record<string, string>;
  reads?: Read[];
}

export interface EngineCore {
  connections: Connections;
  /** This engine's row in _valet_instances (null when it keeps none: valet/testing). */
  instanceId: string | null;
  registry: Registry;
  clock: Clock;
  /** Final status writes, retried through storage faults until they land (claims/lasting-write.ts). */
  lasting: LastingWrites;
  /** Reports work this instance lost to another (a log line and the engine's count). */
  lostClaim(label: string): void;
  fetchPolicy: FetchPolicy;
  /** Shows handler exception messages to callers (development). */
  dev: boolean;
  /** Whether bearer tokens can be verified at all (without, authenticated functions answer auth_not_configured). */
  authConfigured: boolean;
  /** Deadline for queries and mutations, which hold a connection while they run. */
  functionTimeoutMs: number;
  log: (line: string) => void;
  describeError: (error: unknown) => string;
  /** Replaces configured secrets in text the engine did not choose (messages, stacks). */
  redact: (text: string) => string;
  /** Which push endpoints ctx.push accepts (http:// ones only in development and tests). */
  pushPolicy: PushPolicy;
  /** Called when an email or scheduled call was written (the background loops run soon). */
  afterEnqueue: () => void;
  afterSchedule: () => void;
  /** Stored files: where their bytes go, the upload limit, signed URLs (ctx.storage, the file routes). */
  files: FileService;
  /** The activity log: every call's record. */
  calls: CallLog;
  /** Calls another function (ctx.runQuery and friends); `snapshot` runs a query in that store. */
  call(request: CallRequest, snapshot?: DocumentStore): Promise<CallResponse>;
}
