// Reading .valet/logs.ndjson for `valet logs`: the last entries, then (with --follow) each new
// line as the dev server appends it, across the 10 MiB roll-over.
import { closeSync, existsSync, openSync, readSync, statSync, watchFile, unwatchFile } from 'node:fs';
import { parseLogLines as parseLines, readRecentLogs } from '../runtime/function-logs.js';
import type { LogEntry } from '../runtime/function-logs.js';

export { readRecentLogs };

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
