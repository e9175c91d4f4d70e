// `valet mcp` driven by the MCP SDK's own client over stdio, as an agent host drives it: against
// the basic template with no server (its database directly) and beside a real `valet dev` —
// status during a broken save, functions, data, a one-off query (and one that writes, refused),
// a mutation refused read-only and allowed with --allow-writes, the invocation it caused and its
// log line, a dead email read and retried, `check`, env without values, the docs as resources.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, expect, it } from 'vitest';
import { linkedTemplateApp, removeTempDirs, VALET_BIN, valet } from '../helpers/apps.js';
import { freePort, killAll, spawnValet } from '../helpers/processes.js';
import { startSmtpServer } from '../helpers/smtp.js';

const clients: Client[] = [];
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  killAll();
  removeTempDirs();
});

async function connect(app: string, flags: string[] = [], env: Record<string, string> = {}) {
  const client = new Client({ name: 'valet-e2e', version: '1.0.0' });
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [VALET_BIN, 'mcp', ...flags],
    cwd: app,
    env: { ...(process.env as Record<string, string>), NO_COLOR: '1', ...env },
    stderr: 'pipe',
  });
  await client.connect(transport);
  clients.push(client);
  /** A tool's structured answer; `error` when the tool refused (isError). */
  const tool = async (name: string, args: Record<string, unknown> = {}) => {
    const result = (await client.callTool({ name, arguments: args })) as {
      structuredContent?: any;
      content: { type: string; text: string }[];
      isError?: boolean;
    };
    return { data: result.structuredContent, error: result.isError ? result.content[0]!.text : null };
  };
  return { client, tool };
}

it('serves an app to an agent: read-only by default, writes when allowed, with or without a server', async () => {
  const app = await linkedTemplateApp('basic', 'agents');
  // A new app carries the rules for agents.
  expect(readFileSync(join(app, 'AGENTS.md'), 'utf8')).toContain('No `fetch` in a query or mutation');
  expect(readFileSync(join(app, 'CLAUDE.md'), 'utf8')).toContain('@AGENTS.md');

  // No server running: the tools work on the database directly.
  const offline = await connect(app);
  const { tools } = await offline.client.listTools();
  for (const name of [
    'status',
    'functions',
    'tables',
    'data',
    'query',
    'run',
    'logs',
    'calls',
    'invocations',
    'rerun_invocation',
    'outbox',
    'retry_message',
    'crons',
    'scheduled',
    'migrations',
    'check',
    'codegen',
    'env',
  ])
    expect(tools.map((t) => t.name)).toContain(name);
  expect(tools.find((t) => t.name === 'run')!.inputSchema).toMatchObject({
    type: 'object',
    properties: { function: { type: 'string' } },
  });
  const status = (await offline.tool('status')).data;
  expect(status).toMatchObject({
    server: { running: false },
    database: { backend: 'sqlite' },
    writes: { allowed: false },
  });
  const functions = (await offline.tool('functions')).data.functions as any[];
  expect(functions.find((f) => f.path === 'users:create')).toMatchObject({
    kind: 'mutation',
    access: 'authenticated',
    args: { type: 'object', properties: { email: { type: 'string' } }, required: ['email'] },
    file: 'valet/users.ts',
    line: expect.any(Number),
  });
  expect((await offline.tool('run', { function: 'users:list' })).data).toMatchObject({ ok: true, value: [] });
  const refused = await offline.tool('run', {
    function: 'users:create',
    args: { email: 'ada@example.com' },
    as: 'user:ada',
  });
  expect(refused.error).toContain('--allow-writes');
  expect((await offline.tool('query', { source: "return await ctx.db.query('users').collect();" })).data).toMatchObject(
    { ok: true, value: [] },
  );
  const writing = await offline.tool('query', { source: "await ctx.db.insert('users', { email: 'x@example.com' });" });
  expect(writing.error).toBeTruthy();
  expect(writing.data.error.message).toContain('read-only: ctx.db.insert');
  expect((await offline.tool('env')).data.variables.every((v: { value: unknown }) => v.value === null)).toBe(true);
  const { resources } = await offline.client.listResources();
  expect(resources.map((r) => r.uri)).toContain('valet-docs://actions.md');
  const page = await offline.client.readResource({ uri: 'valet-docs://actions.md' });
  expect((page.contents[0] as { text: string }).text).toContain('# Actions');
  await offline.client.close();

  // Beside a running valet dev: the same tools through its admin API.
  const smtp = await startSmtpServer();
  smtp.mode = { kind: 'reject', code: 550 };
  const dev = spawnValet(['dev', '--port', String(await freePort()), '--no-typecheck'], app, {
    VALET_SMTP_URL: smtp.url,
    VALET_OUTBOX_MAX_ATTEMPTS: '1',
  });
  try {
    await dev.waitFor(/Valet dev: \d+ functions at/);
    const reader = await connect(app);
    const writer = await connect(app, ['--allow-writes']);
    expect((await reader.tool('status')).data).toMatchObject({
      server: { running: true, mode: 'dev' },
      build: { status: 'serving' },
    });

    // A broken save: status names the file and line, while the last good build keeps serving.
    const users = join(app, 'valet/users.ts');
    const original = readFileSync(users, 'utf8');
    writeFileSync(
      users,
      original.replace('export const list = defineQuery({', 'export const list = defineQuery({ oops'),
    );
    await expect
      .poll(async () => (await reader.tool('status')).data.build.error?.problems?.[0]?.file, { timeout: 20_000 })
      .toBe('valet/users.ts');
    const broken = (await reader.tool('status')).data.build.error.problems[0];
    expect(broken.line).toEqual(expect.any(Number));
    writeFileSync(users, original);
    await expect.poll(async () => (await reader.tool('status')).data.build.error, { timeout: 20_000 }).toBeNull();

    // A mutation: refused read-only, allowed with --allow-writes.
    expect(
      (await reader.tool('run', { function: 'users:create', args: { email: 'ada@example.com' }, as: 'user:ada' }))
        .error,
    ).toContain('--allow-writes');
    const created = await writer.tool('run', {
      function: 'users:create',
      args: { email: 'ada@example.com', name: 'Ada' },
      as: 'user:ada',
    });
    expect(created.data).toMatchObject({ ok: true, kind: 'mutation' });
    const userId = created.data.value as string;
    expect((await reader.tool('data', { table: 'users', id: userId })).data.documents[0]).toMatchObject({
      email: 'ada@example.com',
    });
    expect(
      (await reader.tool('query', { source: "return (await ctx.db.query('users').collect()).map((u) => u.email)" }))
        .data.value,
    ).toEqual(['ada@example.com']);
    // The agent's call is in the activity log as mcp's.
    const calls = (await reader.tool('calls', { function: 'users:create' })).data.calls as any[];
    expect(calls[0]).toMatchObject({ source: 'mcp', outcome: 'ok', caller: 'user:ada' });

    // A purchase schedules its notifier: the invocation that ran, and its log line.
    await writer.tool('run', {
      function: 'purchases:record',
      args: { item: 'lamp', amountCents: 4500 },
      as: 'user:ada',
    });
    await expect
      .poll(
        async () =>
          ((await reader.tool('invocations', { function: 'purchases:notify' })).data.invocations as any[]).length,
        { timeout: 20_000 },
      )
      .toBe(1);
    const [notify] = (await reader.tool('invocations', { function: 'purchases:notify' })).data.invocations as any[];
    const shown = (await reader.tool('invocations', { id: notify.id })).data;
    expect(shown.invocation).toMatchObject({ function: 'purchases:notify', status: 'succeeded' });
    expect(shown.logs.map((l: { message: string }) => l.message)).toContainEqual(
      expect.stringContaining('set PURCHASE_NOTIFY_URL'),
    );

    // An email the SMTP server refused is dead; read it, retry it once the server accepts.
    const sent = await writer.tool('run', { function: 'actions:sendWelcomeEmail', args: { userId }, as: 'user:ada' });
    expect(sent.data).toMatchObject({ ok: true, invocationId: expect.any(String) });
    await expect
      .poll(async () => ((await reader.tool('outbox', { status: 'dead' })).data.messages as any[]).length, {
        timeout: 20_000,
      })
      .toBe(1);
    const [dead] = (await reader.tool('outbox', { status: 'dead' })).data.messages as any[];
    expect((await reader.tool('outbox', { id: dead.id })).data.message).toMatchObject({ subject: 'Welcome to Valet' });
    expect((await reader.tool('retry_message', { id: dead.id })).error).toContain('--allow-writes');
    smtp.mode = { kind: 'accept' };
    expect((await writer.tool('retry_message', { id: dead.id })).data).toEqual({ retried: 1 });
    await expect
      .poll(async () => (await reader.tool('outbox', { id: dead.id })).data.message.status, { timeout: 20_000 })
      .toBe('sent');

    // valet check, as data.
    const check = (await reader.tool('check', { typecheck: false })).data;
    expect(check).toMatchObject({ errorCount: 0, ran: expect.arrayContaining(['rules']) });
    expect((await reader.tool('tables')).data.tables.map((t: { name: string }) => t.name)).toContain('users');
  } finally {
    await dev.stop('SIGINT');
    await smtp.close();
  }
  // With the server gone again, every read tool answers from the database.
  const after = await connect(app);
  for (const [name, args] of [
    ['logs', {}],
    ['invocations', {}],
    ['outbox', {}],
    ['crons', {}],
    ['scheduled', {}],
    ['calls', {}],
    ['migrations', {}],
    ['tables', {}],
    ['data', { table: 'users' }],
  ] as const) {
    const { error } = await after.tool(name, args);
    expect(error, name).toBeNull();
  }
  expect(((await after.tool('invocations')).data.invocations as any[]).map((i) => i.function)).toContain(
    'actions:sendWelcomeEmail',
  );
  expect((await after.tool('status')).data.server.running).toBe(false);
  expect(valet(['mcp', '--help'], app).stdout).toMatch(
    /--allow-writes[\s\S]*--allow-production-writes[\s\S]*--show-env-values[\s\S]*--app <dir>|--app <dir>[\s\S]*--allow-writes/,
  );
});
