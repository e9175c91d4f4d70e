// The generated API is typed by inference from the modules: the typed-app fixture holds
// compile-time assertions (exact types, and @ts-expect-error where a mistake must not compile).
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCodegen } from '../../src/codegen/index.js';
import { findTypeScript, typecheckApp } from '../../src/check/typecheck.js';
import { fixtureApp, removeTempDirs, run } from '../helpers/apps.js';

afterAll(removeTempDirs);

describe('generated types', () => {
  it('type-check the typed-app fixture, assertions included', async () => {
    const app = fixtureApp('typed-app');
    runCodegen(app);
    const tsc = findTypeScript(app);
    const result = await run(process.execPath, [tsc!.tscPath, '--noEmit', '--pretty', 'false', '-p', '.'], app);
    expect(result.stdout + result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  it('catch a handler that misuses a document, naming file and line', async () => {
    const app = fixtureApp('typed-app');
    const orders = join(app, 'valet/orders.ts');
    writeFileSync(
      orders,
      readFileSync(orders, 'utf8').replace(
        "await tx.patch(order._id, { status: 'paid' });",
        "await tx.patch(order._id, { status: 'refunded' });",
      ),
    );
    runCodegen(app);
    const { findings } = await typecheckApp(app);
    expect(findings).toEqual([
      expect.objectContaining({ file: 'valet/orders.ts', line: 34, rule: 'typescript(TS2322)', severity: 'error' }),
    ]);
  });
});
