// Reading back .valet/logs.ndjson: the recent entries of a large log come from the end of each
// file (the CLI and the dashboard ask for them often), across the rolled-over file, in order; and the tags that name the call a line came from.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readRecentLogs } from '../../src/runtime/function-logs.js';
import { removeTempDirs, tempDir } from '../helpers/apps.js';
import { shortInvocationId } from '../../src/protocol/log-tag.js';
import { nextCallId } from '../../src/runtime/calls/record.js';
import { newId } from '../../src/storage/ids.js';

afterAll(removeTempDirs);

const line = (n: number, fn = 'jobs:run') =>
  JSON.stringify({
    time: new Date(n).toISOString(),
    level: 'log',
    function: fn,
    invocation: `i${n}`,
    message: `entry ${n} ${'x'.repeat(200)}`,
  });

it('returns the last entries of a log larger than what it reads, across the rolled-over file', () => {
  const dir = tempDir();
  const file = join(dir, 'logs.ndjson');
  // ~6 MiB in the rolled-over file, a few lines in the current one.
  writeFileSync(`${file}.1`, `${Array.from({ length: 25_000 }, (_, i) => line(i)).join('\n')}\n`);
  writeFileSync(
    file,
    `${[25_000, 25_001, 25_002].map((n) => line(n, n === 25_001 ? 'other:fn' : 'jobs:run')).join('\n')}\n`,
  );
  const recent = readRecentLogs(file, 5);
  expect(recent.map((e) => e.invocation)).toEqual(['i24998', 'i24999', 'i25000', 'i25001', 'i25002']);
  expect(readRecentLogs(file, 2, 'jobs:run').map((e) => e.invocation)).toEqual(['i25000', 'i25002']);
  // Every entry read back parsed whole: the torn first line of the tail was dropped, not mangled.
  const all = readRecentLogs(file, 100_000);
  expect(all.length).toBeGreaterThan(1000);
  expect(all.filter((e) => !e.message.startsWith('entry '))).toEqual([]);
});

describe('log tags', () => {
  it('differ for every call of a process, and are word characters (grep-able as \\w+)', () => {
    const tags = Array.from({ length: 2000 }, () => shortInvocationId(nextCallId()));
    expect(new Set(tags).size).toBe(tags.length);
    for (const tag of tags) expect(tag).toMatch(/^\w{8}$/);
    // An action's id is its invocation record's (random throughout): its tag is word characters too.
    expect(shortInvocationId(newId())).toMatch(/^\w{8}$/);
  });
});
