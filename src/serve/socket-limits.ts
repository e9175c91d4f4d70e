// What one server lets a connection hold: how long it may stay silent, take to send its headers
// or its body, how many connections there may be at once. Without these, sockets that send
// nothing stay open forever and, under the process's file-descriptor limit, a few hundred of them
// lock every real caller out.
import { readFileSync } from 'node:fs';
import { wholeNumberFromEnv } from './env-numbers.js';

export interface SocketLimits {
  /** A connection that has sent no byte of a request after this long is closed (VALET_IDLE_CONNECTION_TIMEOUT_MS). */
  firstRequestTimeoutMs: number;
  /** Headers must be complete this long after the request began (VALET_HEADERS_TIMEOUT_MS). */
  headersTimeoutMs: number;
  /** The whole request, body included, within this long (VALET_REQUEST_TIMEOUT_MS). */
  requestTimeoutMs: number;
  /** Connections open at once, WebSockets included (VALET_MAX_CONNECTIONS). */
  maxConnections: number;
  /** A WebSocket is pinged this often and closed when the previous ping got no pong (VALET_SYNC_PING_MS). */
  pingIntervalMs: number;
  /** Live queries one WebSocket may hold (VALET_MAX_SUBSCRIPTIONS_PER_SOCKET). */
  maxSubscriptionsPerSocket: number;
}

/** File descriptors kept back for the database, log files and the process itself. */
const RESERVED_DESCRIPTORS = 128;
const DEFAULT_MAX_CONNECTIONS = 100_000;

/** The soft limit on open files (Linux), or null where it cannot be read. */
function openFileLimit(): number | null {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((entry) => entry.startsWith('Max open files'));
    const soft = line?.split(/\s{2,}/)[1];
    return soft === undefined || soft === 'unlimited' ? null : Number(soft);
  } catch {
    return null;
  }
}

/** By default connections stop short of the descriptor limit: past it, accept() fails for everyone. */
function defaultMaxConnections(): number {
  const limit = openFileLimit();
  if (limit === null || !Number.isFinite(limit)) return DEFAULT_MAX_CONNECTIONS;
  return Math.min(DEFAULT_MAX_CONNECTIONS, Math.max(32, limit - RESERVED_DESCRIPTORS));
}

export function socketLimitsFromEnv(env: NodeJS.ProcessEnv = process.env): SocketLimits {
  return {
    firstRequestTimeoutMs: wholeNumberFromEnv(env, 'VALET_IDLE_CONNECTION_TIMEOUT_MS', 10_000),
    headersTimeoutMs: wholeNumberFromEnv(env, 'VALET_HEADERS_TIMEOUT_MS', 20_000),
    requestTimeoutMs: wholeNumberFromEnv(env, 'VALET_REQUEST_TIMEOUT_MS', 120_000),
    maxConnections: Math.max(
      1,
      wholeNumberFromEnv(env, 'VALET_MAX_CONNECTIONS', defaultMaxConnections(), 'connections'),
    ),
    pingIntervalMs: wholeNumberFromEnv(env, 'VALET_SYNC_PING_MS', 30_000),
    maxSubscriptionsPerSocket: Math.max(
      1,
      wholeNumberFromEnv(env, 'VALET_MAX_SUBSCRIPTIONS_PER_SOCKET', 1_000, 'subscriptions'),
    ),
  };
}
