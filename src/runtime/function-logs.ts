// console.* inside functions: each line is tagged with the function and invocation it came from,
// printed to the terminal and appended to .valet/logs.ndjson for `valet logs` in another terminal.
import { systemClock } from './clock.js';
import {
  appendFileSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  statSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { format } from 'node:util';
import { addLine } from './calls/record.js';
import type { CallRecord } from './calls/record.js';
import { currentScope } from './scope.js';

export type LogLevel = 'log' | 'info' | 'warn' | 'error' | 'debug';

export interface LogEntry {
  time: string;
  level: LogLevel;
  function: string;
  invocation: string;
  /** The call's id in the activity log. */
  call?: string;
  message: string;
  /** Set on the entry that says how a call ended (written after its lines; terminals skip it). */
  outcome?: 'ok' | 'error';
  durationMs?: number;
}

const LEVELS: LogLevel[] = ['log', 'info', 'warn', 'error', 'debug'];
const MAX_LOG_BYTES = 10 * 1024 * 1024;

/** Appends entries as NDJSON, rolling over to `<file>.1` past 10 MiB so the file stays small. */
export function logFileSink(file: string): (entry: LogEntry) => void {
  mkdirSync(dirname(file), { recursive: true });
  let size = existsSync(file) ? statSync(file).size : 0;
  return (entry) => {
    const line = `${JSON.stringify(entry)}\n`;
    if (size + line.length > MAX_LOG_BYTES) {
      renameSync(file, `${file}.1`);
      size = 0;
    }
    appendFileSync(file, line);
    size += line.length;
  };
}

let sink: ((entry: LogEntry) => void) | null = null;
let patched = false;
let clockNow: () => number = systemClock.now;

/**
 * Console calls made inside a function call go to its record in the activity log and to the
 * server's sink (the terminal, .valet/logs.ndjson), or to the console when no server listens;
 * calls from anywhere else (Valet itself, tools) go to the console as before. Patched once per
 * process, however many engines it runs.
 */
export function routeFunctionConsole(): void {
  if (patched) return;
  patched = true;
  for (const level of LEVELS) {
    const original = console[level];
    console[level] = (...args: unknown[]) => {
      const scope = currentScope();
      if (!scope) return original.apply(console, args);
      const time = clockNow();
      const message = format(...args);
      if (scope.call) addLine(scope.call, { time, level, message });
      if (!sink) return original.apply(console, args);
      sink({
        time: new Date(time).toISOString(),
        level,
        function: scope.path,
        invocation: scope.invocationId,
        call: scope.call?.id,
        message,
      });
    };
  }
}

/**
 * After a call that printed lines or failed, an entry saying how it ended, so `valet logs` and
 * the Logs page show each call's lines with its outcome. Calls that said nothing and succeeded
 * (most queries) write nothing: the log file stays off the hot path.
 */
export function logCallOutcome(record: CallRecord): void {
  if (!sink || (record.logs.length === 0 && record.outcome !== 'error')) return;
  const durationMs = record.durationMs ?? 0;
  sink({
    time: new Date(record.startedAt + durationMs).toISOString(),
    level: record.error ? 'error' : 'info',
    function: record.path,
    invocation: record.invocation ?? record.id,
    call: record.id,
    message: record.error ? `failed: ${record.error.code}: ${record.error.message}` : `ok (${durationMs} ms)`,
    outcome: record.error ? 'error' : 'ok',
    durationMs,
  });
}

/** Sends functions' console output to `entries` (a server's terminal and log file); returns the undo. */
export function captureFunctionConsole(
  entries: (entry: LogEntry) => void,
  now: () => number = systemClock.now,
): () => void {
  routeFunctionConsole();
  sink = entries;
  clockNow = now;
  return () => {
    if (sink === entries) sink = null;
  };
}

/** The entries of an NDJSON log file's text (a torn last line is skipped). */
export function parseLogLines(text: string): LogEntry[] {
  return text
    .split('\n')
    .filter((line) => line.trim())
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as LogEntry];
      } catch {
        return [];
      }
    });
}

/** How much of each file's end is read: the CLI and the dashboard ask for the recent lines. */
const TAIL_BYTES = 4 * 1024 * 1024;

/** The last TAIL_BYTES of a file (the first, torn line dropped), or the whole of a smaller one. */
function readTail(path: string): string {
  const size = statSync(path).size;
  if (size <= TAIL_BYTES) return readFileSync(path, 'utf8');
  const buffer = Buffer.alloc(TAIL_BYTES);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, buffer, 0, TAIL_BYTES, size - TAIL_BYTES);
  } finally {
    closeSync(fd);
  }
  const text = buffer.toString('utf8');
  return text.slice(text.indexOf('\n') + 1);
}

/** The last `limit` entries (of one function), across the rolled-over file, from the end of each. */
export function readRecentLogs(file: string, limit: number, fn?: string): LogEntry[] {
  const entries = [file + '.1', file].flatMap((path) => (existsSync(path) ? parseLogLines(readTail(path)) : []));
  return entries.filter((e) => !fn || e.function === fn).slice(-limit);
}
