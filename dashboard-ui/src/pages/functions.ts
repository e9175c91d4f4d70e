// Every function by module, and a form that runs one: JSON args checked against its validators
// as you type, run as anonymous, a user or system, with an optional idempotency key; the result
// or error, the time it took and its log lines.
import { ApiError, get, post, request } from '../api.js';
import { badge, debounce, errorBox, h, json, replace } from '../dom.js';
import type { Page } from './page.js';
import { serialized } from './page.js';

interface FunctionInfo {
  path: string;
  module: string;
  name: string;
  kind: 'query' | 'mutation' | 'action';
  access: string;
  args: { name: string; type: string; optional: boolean }[];
  returns: string | null;
  /** Args that pass the validators, from the server (required fields only). */
  example: Record<string, unknown>;
}

function argsTemplate(fn: FunctionInfo): string {
  return Object.keys(fn.example).length === 0 ? '{}' : json(fn.example);
}

function runForm(fn: FunctionInfo): HTMLElement {
  const args = h('textarea', { 'aria-label': 'args', rows: 8, spellcheck: 'false', class: 'code' });
  args.value = argsTemplate(fn);
  const check = h('p', { class: 'muted', 'data-testid': 'args-check' }, '');
  const as = h(
    'select',
    { 'aria-label': 'run as' },
    h('option', { value: 'anonymous' }, 'anonymous'),
    h('option', { value: 'user' }, 'a user'),
    h('option', { value: 'system' }, 'system'),
  );
  as.value = fn.access === 'system' ? 'system' : fn.access === 'authenticated' ? 'user' : 'anonymous';
  const userId = h('input', { 'aria-label': 'user id', placeholder: 'user id', value: 'dev-user' });
  const key = h('input', { 'aria-label': 'idempotency key', placeholder: 'idempotency key (optional)' });
  const output = h('section', { class: 'output', 'aria-label': 'result' });
  const validate = debounce(async () => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(args.value || '{}');
    } catch (error) {
      check.className = 'error';
      check.textContent = `Invalid JSON: ${(error as Error).message}`;
      return;
    }
    try {
      const verdict = await post<{ ok: boolean; message?: string }>('admin/functions/validate', {
        path: fn.path,
        args: parsed,
      });
      check.className = verdict.ok ? 'ok' : 'error';
      check.textContent = verdict.ok ? '✓ args match the validators' : verdict.message!;
    } catch (error) {
      check.className = 'error';
      check.textContent = (error as Error).message;
    }
  }, 200);
  args.addEventListener('input', validate);
  const syncUser = () => userId.toggleAttribute('hidden', as.value !== 'user');
  as.addEventListener('change', syncUser);
  syncUser();
  validate();

  async function run(event: Event) {
    event.preventDefault();
    let parsed: unknown;
    try {
      parsed = JSON.parse(args.value || '{}');
    } catch (error) {
      replace(output, errorBox(`Invalid JSON args: ${(error as Error).message}`));
      return;
    }
    const actAs = as.value === 'user' ? `user:${userId.value.trim() || 'dev-user'}` : as.value;
    replace(output, h('p', { class: 'muted' }, 'Running…'));
    try {
      const response = await request(`call/${fn.kind}`, {
        body: { path: fn.path, args: parsed },
        headers: { 'x-valet-as': actAs, ...(key.value.trim() ? { 'idempotency-key': key.value.trim() } : {}) },
      });
      const invocation = response.headers.get('valet-invocation-id');
      const body = response.body as { value?: unknown; code?: string; message?: string };
      const lines = invocation
        ? (
            await get<{ logs: { level: string; message: string }[] }>(
              `admin/logs?invocation=${encodeURIComponent(invocation)}`,
            )
          ).logs
        : [];
      replace(
        output,
        h(
          'p',
          { class: 'muted' },
          `${Math.round(response.ms)} ms`,
          invocation && fn.kind === 'action'
            ? [' · ', h('a', { href: `#/invocations/${invocation}` }, 'invocation')]
            : null,
          response.headers.get('idempotent-replayed') ? ' · replayed (idempotency key seen before)' : null,
        ),
        'code' in body
          ? h('div', { 'data-testid': 'call-error' }, errorBox(`${body.code}: ${body.message}`))
          : h('pre', { class: 'code', 'data-testid': 'call-result' }, json(body.value)),
        lines.length > 0 &&
          h('pre', { class: 'logs' }, lines.map((line) => `[${line.level}] ${line.message}`).join('\n')),
      );
    } catch (error) {
      replace(output, errorBox((error as ApiError).message));
    }
  }

  return h(
    'form',
    { class: 'card', onsubmit: run, 'aria-label': `run ${fn.path}` },
    h('h2', {}, fn.path, ' ', badge(fn.kind), ' ', badge(fn.access)),
    h(
      'p',
      { class: 'code muted' },
      `args: { ${fn.args.map((arg) => `${arg.name}${arg.optional ? '?' : ''}: ${arg.type}`).join(', ')} }${fn.returns ? ` → ${fn.returns}` : ''}`,
    ),
    args,
    check,
    h(
      'div',
      { class: 'row' },
      h('label', {}, 'Run as ', as),
      userId,
      fn.kind === 'action' && key,
      h('button', { type: 'submit' }, `Run ${fn.kind}`),
    ),
    output,
  );
}

export function functions(params: string[]): Page {
  const selected = params.join('/') || null;
  const list = h('div', { class: 'list' });
  const detail = h('div', { class: 'detail' }, h('p', { class: 'muted' }, 'Pick a function to run it.'));
  let shown: string | null = null;
  const refresh = serialized(async () => {
    let all: FunctionInfo[];
    try {
      all = (await get<{ functions: FunctionInfo[] }>('admin/functions')).functions;
    } catch (error) {
      replace(list, errorBox((error as Error).message));
      return;
    }
    const modules = [...new Set(all.map((fn) => fn.module))];
    replace(
      list,
      modules.map((module) =>
        h(
          'section',
          {},
          h('h3', {}, module),
          all
            .filter((fn) => fn.module === module)
            .map((fn) =>
              h(
                'a',
                {
                  href: `#/functions/${encodeURIComponent(fn.path)}`,
                  class: fn.path === selected ? 'item selected' : 'item',
                },
                fn.name,
                ' ',
                badge(fn.kind),
              ),
            ),
        ),
      ),
    );
    const fn = all.find((candidate) => candidate.path === selected);
    // Keep the form (and what was typed) unless the function itself changed shape.
    const signature = fn ? JSON.stringify(fn) : null;
    if (signature !== shown) {
      shown = signature;
      replace(
        detail,
        fn
          ? runForm(fn)
          : h(
              'p',
              { class: 'muted' },
              selected ? `No function ${selected} (renamed or removed?)` : 'Pick a function to run it.',
            ),
      );
    }
  });
  return {
    element: h('div', { class: 'split' }, list, detail),
    refresh: (topics) => (topics.includes('state') ? refresh() : Promise.resolve()),
  };
}
