import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runStaticRules } from '../../src/check/static-rules.js';
import { RULES } from '../../src/check/rules/index.js';
import { FIXTURES } from '../helpers/apps.js';

const APP = join(FIXTURES, 'rules-app');

/** The fixture marks each line that must be reported with `// expect: <rule>`. */
function expectedFindings(): string[] {
  return readdirSync(join(APP, 'valet')).flatMap((name) =>
    readFileSync(join(APP, 'valet', name), 'utf8')
      .split('\n')
      .flatMap((text, index) =>
        [...text.matchAll(/expect: ([\w-]+)/g)].map((m) => `valet/${name}:${index + 1} ${m[1]}`),
      ),
  );
}

describe("Valet's static rules", () => {
  const findings = runStaticRules(APP);

  it('report exactly the marked lines of the rules-app fixture', () => {
    const reported = findings.map((f) => `${f.file}:${f.line} ${f.rule}`);
    expect(reported.sort()).toEqual(expectedFindings().sort());
  });

  it('cover every rule in the fixture', () => {
    const rules = new Set(findings.map((f) => f.rule));
    expect([...rules].sort()).toEqual(RULES.map((r) => r.id).sort());
  });

  it('give each finding a column at the offending call, a message and a fix', () => {
    const fetchInQuery = findings.find((f) => f.file === 'valet/fetch_in_query.ts' && f.line === 6)!;
    expect(fetchInQuery).toEqual({
      file: 'valet/fetch_in_query.ts',
      line: 6,
      column: 28,
      rule: 'fetch-in-query-or-mutation',
      severity: 'error',
      message: 'fetch() in query q: queries cannot call the network (it throws at runtime)',
      fix: expect.stringContaining('move the call into an action'),
    });
    for (const finding of findings) expect(finding.fix).toBeTruthy();
  });

  it('treat a public action calling out as a warning, the rest as errors', () => {
    const severities = new Map(findings.map((f) => [f.rule, f.severity]));
    expect(severities.get('public-action-calls-third-party')).toBe('warning');
    expect(severities.get('writes-outside-transaction')).toBe('error');
  });
});
