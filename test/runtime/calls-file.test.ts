// A SQLite app's call log lives in a file of its own, written by a thread of its own: the app's
// file never holds a call row, a flush never takes the app's writer, and when the thread stops or
// the file is locked mid-flush the batch stays pending and is written once later. A damaged log
// file is moved aside (the app's data is untouched) and a new one started.
import Database from 'better-sqlite3';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CallLog } from '../../src/runtime/calls/log.js';
import type { CallLogSettings } from '../../src/runtime/calls/log.js';
import { SqliteFileSink, callsFileOf } from '../../src/runtime/calls/sqlite-file-sink.js';
import { removeTempDirs, tempDir } from '../helpers/apps.js';
import { engineFor, ManualClock } from '../helpers/engine.js';

afterAll(removeTempDirs);

const SETTINGS: CallLogSettings = { store: 'database', ringSize: 10, retentionMs: 60_000, sampleRate: 1 };

function logWith(sink: SqliteFileSink, clock = new ManualClock()) {
  const lines: string[] = [];
  const log = new CallLog(SETTINGS, {
    sink,
    clock,
    instance: null,
    log: (line) => lines.push(line),
    redact: (text) => text,
  });
  const finishOne = (path: string) => {
    const record = log.begin({ kind: 'query', path, source: 'http', caller: 'anonymous' });
    log.finish(record, 1, null);
    return record;
  };
  return { log, lines, finishOne, clock };
}

const rowsIn = (file: string) => {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare('SELECT id, path FROM _valet_calls ORDER BY started_at, id').all() as {
      id: string;
      path: string;
    }[];
  } finally {
    db.close();
  }
};

it('names the log file after the database', () => {
  expect(callsFileOf('/srv/app/.valet/valet.db')).toBe('/srv/app/.valet/valet.calls.db');
  expect(callsFileOf('/data/app.sqlite')).toBe('/data/app.calls.sqlite');
  expect(callsFileOf('/data/app')).toBe('/data/app.calls.sqlite');
});

describe('an engine on a SQLite file with the database store', () => {
  it('keeps its calls in the log file, none in the app’s file', async () => {
    const { engine, stateDir, call } = await engineFor('calls-app', { calls: { store: 'database' } });
    const database = join(stateDir, 'valet.db');
    await call('query', 'todos:list', {});
    await call('query', 'todos:list', {});
    await engine.calls.flush();
    expect((await engine.calls.list({ path: 'todos:list' })).length).toBe(2);
    expect(rowsIn(callsFileOf(database)).filter((r) => r.path === 'todos:list')).toHaveLength(2);
    const app = new Database(database, { readonly: true });
    expect(app.prepare('SELECT COUNT(*) AS n FROM _valet_calls').get()).toEqual({ n: 0 });
    app.close();
    await engine.close();
  });
});

describe('the writer thread', () => {
  it('keeps a batch whose thread stopped mid-flush and writes it once with the next', async () => {
    const file = join(tempDir(), 'app.calls.sqlite');
    const sink = new SqliteFileSink(file, { log: () => undefined, now: () => 0 });
    const { log, finishOne } = logWith(sink);
    const first = Array.from({ length: 50 }, (_, i) => finishOne(`a:${i}`));
    const flushing = log.flush();
    // The batch is posted as the thread is started: stop it before it can have loaded its driver.
    while (!sink.writerThread) await new Promise((resolve) => setImmediate(resolve));
    void sink.writerThread.terminate();
    await expect(flushing).rejects.toThrow(/writer thread stopped|closed/);
    const second = finishOne('b:0');
    await log.flush();
    const ids = rowsIn(file).map((r) => r.id);
    expect(ids.sort()).toEqual([...first, second].map((r) => r.id).sort());
    await log.close();
  });

  it('keeps a batch while the file is locked and writes it once the lock is gone', async () => {
    const file = join(tempDir(), 'app.calls.sqlite');
    const sink = new SqliteFileSink(file, { log: () => undefined, now: () => 0, busyTimeoutMs: 20 });
    const { log, finishOne } = logWith(sink);
    const locker = new Database(file);
    locker.prepare('BEGIN IMMEDIATE').run();
    const record = finishOne('locked:0');
    await expect(log.flush()).rejects.toThrow(/locked/);
    expect(rowsIn(file)).toHaveLength(0);
    locker.prepare('COMMIT').run();
    locker.close();
    await log.flush();
    expect(rowsIn(file).map((r) => r.id)).toEqual([record.id]);
    expect((await log.get(record.id))?.path).toBe('locked:0');
    await log.close();
  });

  it('moves a damaged log file aside and starts a new one', async () => {
    const dir = tempDir();
    const file = join(dir, 'app.calls.sqlite');
    writeFileSync(file, 'this is not a SQLite database, it is long enough to have a header of its own'.repeat(20));
    const lines: string[] = [];
    const sink = new SqliteFileSink(file, { log: (line) => lines.push(line), now: () => 1234 });
    expect(lines.join('\n')).toContain('was damaged: moved to');
    expect(readdirSync(dir)).toContain('app.calls.sqlite.damaged-1234');
    const { log, finishOne } = logWith(sink);
    finishOne('after:0');
    await log.flush();
    expect(rowsIn(file).map((r) => r.path)).toEqual(['after:0']);
    await log.close();
    expect(existsSync(file)).toBe(true);
  });
});
