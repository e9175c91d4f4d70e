// valet mcp's one-off query, on the engine: a body over ctx.db read in one snapshot; writes,
// scheduling, email and fetch refused by name; a time limit for a query that loops or waits; a
// cap on the rows returned; and each one a call in the activity log.
import { afterAll, describe, expect, it } from 'vitest';
import { removeTempDirs } from '../helpers/apps.js';
import { engineFor } from '../helpers/engine.js';

afterAll(removeTempDirs);

describe('one-off queries', async () => {
  const { engine } = await engineFor('engine-app');
  for (let i = 0; i < 150; i++)
    await engine.runInMutation('seed', { type: 'system', source: 'admin' }, (ctx) =>
      ctx.db.insert('users', { email: `user${i}@example.com` }),
    );

  it('reads, as a body or as a function, and caps the rows it returns', async () => {
    const body = await engine.runOneOffQuery("return (await ctx.db.query('users').take(3)).map((u) => u.email);");
    expect(body).toMatchObject({ ok: true, value: ['user0@example.com', 'user1@example.com', 'user2@example.com'] });
    const all = await engine.runOneOffQuery("async (ctx) => ctx.db.query('users').collect()", { rowLimit: 20 });
    expect(all).toMatchObject({ ok: true, truncated: true, rows: 150 });
    expect((all as { value: unknown[] }).value).toHaveLength(20);
    const recorded = await engine.calls.get(all.callId);
    expect(recorded).toMatchObject({ path: '(one-off query)', source: 'mcp', caller: 'system:mcp', outcome: 'ok' });
  });

  it('refuses writes, scheduling, email and fetch, saying why', async () => {
    for (const [source, what] of [
      ["await ctx.db.insert('users', { email: 'x@example.com' })", 'ctx.db.insert'],
      ["await ctx.db.delete('01')", 'ctx.db.delete'],
      ["await ctx.scheduler.runAfter(0, 'jobs:tick', {})", 'ctx.scheduler'],
      ["await ctx.email.enqueue({ to: 'a@b.c', subject: 's', text: 't' })", 'ctx.email'],
      ["await fetch('https://example.com')", 'fetch'],
    ]) {
      const result = await engine.runOneOffQuery(source!);
      expect(result, source).toMatchObject({
        ok: false,
        error: { message: expect.stringContaining(`read-only: ${what}`) },
      });
    }
    expect(await engine.runOneOffQuery('return typeof process + typeof require')).toMatchObject({
      ok: true,
      value: 'undefinedundefined',
    });
  });

  it('stops a query that loops or waits past its time limit, and one that does not parse', async () => {
    const loops = await engine.runOneOffQuery('while (true) {}', { timeoutMs: 100 });
    expect(loops).toMatchObject({ ok: false, error: { message: expect.stringMatching(/timed out|did not finish/) } });
    const waits = await engine.runOneOffQuery('await new Promise(() => {});', { timeoutMs: 100 });
    expect(waits).toMatchObject({ ok: false, error: { code: 'query_timeout' } });
    expect(await engine.runOneOffQuery('return (')).toMatchObject({
      ok: false,
      error: { message: expect.stringContaining('does not parse') },
    });
  });
});
