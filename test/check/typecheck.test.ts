import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseTscOutput } from '../../src/check/typecheck.js';

describe('parseTscOutput', () => {
  it('reads located diagnostics, their continuation lines and global ones', () => {
    const output = [
      "valet/users.ts(12,7): error TS2322: Type 'string' is not assignable to type 'number'.",
      "  Type 'x' is missing the following properties",
      "error TS5083: Cannot read file '/app/tsconfig.base.json'.",
      '',
    ].join('\n');
    expect(parseTscOutput(output, '/app')).toEqual([
      {
        file: 'valet/users.ts',
        line: 12,
        column: 7,
        rule: 'typescript(TS2322)',
        severity: 'error',
        message: "Type 'string' is not assignable to type 'number'.\n  Type 'x' is missing the following properties",
      },
      {
        file: 'tsconfig.json',
        line: 1,
        column: 1,
        rule: 'typescript(TS5083)',
        severity: 'error',
        message: "Cannot read file '/app/tsconfig.base.json'.",
      },
    ]);
  });
});

describe('findTypeScript', () => {
  it("uses the app's own compiler, and says so when the app has none", async () => {
    const { fixtureApp, removeTempDirs } = await import('../helpers/apps.js');
    const { findTypeScript, typecheckApp } = await import('../../src/check/typecheck.js');
    const withOwn = fixtureApp('codegen-app', ['typescript']);
    const without = fixtureApp('codegen-app', []);
    try {
      expect(findTypeScript(withOwn)).toMatchObject({
        tscPath: expect.stringMatching(/typescript\/bin\/tsc$/),
        version: expect.stringMatching(/^\d+\./),
      });
      expect(findTypeScript(without)).toBeNull();
      writeFileSync(join(without, 'tsconfig.json'), '{}');
      expect(await typecheckApp(without)).toEqual({
        compiler: null,
        findings: [
          expect.objectContaining({
            message: 'TypeScript is not installed in the app',
            fix: expect.stringContaining('npm install --save-dev typescript'),
          }),
        ],
      });
    } finally {
      removeTempDirs();
    }
  });
});
