// Reading .valet/logs.ndjson for `valet logs`: the last entries, then (with --follow) each new
// line as the dev server appends it, across the 10 MiB roll-over.
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync, watchFile, unwatchFile } from 'node:fs';
import type { LogEntry } from '../runtime/function-logs.js';

function parseLines(text: string): LogEntry[] {
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

export function readRecentLogs(file: string, limit: number, fn?: string): LogEntry[] {
  const entries = [file + '.1', file].flatMap((path) => (existsSync(path) ? parseLines(readFileSync(path, 'utf8')) : []));
  return entries.filter((e) => !fn || e.function === fn).slice(-limit);
}

/** Calls `onEntry` for each entry appended from now on; returns a function that stops. */
export function followLogs(file: string, onEntry: (entry: LogEntry) => void, fn?: string): () => void {
  let position = existsSync(file) ? statSync(file).size : 0;
  let carry = '';
  const readNew = () => {
    if (!existsSync(file)) return;
    const size = statSync(file).size;
    if (size < position) position = 0; // rolled over to a fresh file
    if (size === position) return;
    const buffer = Buffer.alloc(size - position);
    const fd = openSync(file, 'r');
    try {
      readSync(fd, buffer, 0, buffer.length, position);
    } finally {
      closeSync(fd);
    }
    position = size;
    const text = carry + buffer.toString('utf8');
    const lastNewline = text.lastIndexOf('\n');
    carry = text.slice(lastNewline + 1);
    for (const entry of parseLines(text.slice(0, lastNewline + 1))) if (!fn || entry.function === fn) onEntry(entry);
  };
  watchFile(file, { interval: 100 }, readNew);
  return () => unwatchFile(file, readNew);
}
