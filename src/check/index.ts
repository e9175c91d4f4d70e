// `valet check` as a programmatic API: codegen freshness, the TypeScript check and Valet's
// static rules, as one list of findings.
import { checkCodegen, CodegenError } from '../codegen/index.js';
import type { Finding } from './finding.js';
import { compareFindings } from './finding.js';
import { runStaticRules } from './static-rules.js';
import { typecheckApp } from './typecheck.js';
import type { TypeScriptCompiler } from './typecheck.js';

export type { Finding } from './finding.js';

export interface CheckOptions {
  typecheck?: boolean;
}

export interface CheckReport {
  findings: Finding[];
  errorCount: number;
  warningCount: number;
  compiler?: TypeScriptCompiler;
  /** Which parts ran, for the summary. */
  ran: ('codegen' | 'typescript' | 'rules')[];
}

function codegenFindings(appDir: string): Finding[] {
  try {
    return checkCodegen(appDir).map((stale) => ({
      file: stale.path,
      line: 1,
      column: 1,
      rule: 'codegen-stale',
      severity: 'error' as const,
      message: `generated file is ${stale.reason}`,
      fix: 'run `valet codegen` and commit the result',
    }));
  } catch (error) {
    if (!(error instanceof CodegenError)) throw error;
    return error.diagnostics.map((d) => ({ ...d, rule: 'codegen', severity: 'error' as const }));
  }
}

export async function runCheck(appDir: string, options: CheckOptions = {}): Promise<CheckReport> {
  const typecheck = options.typecheck !== false;
  // Start tsc first: it runs in its own process while this one does codegen and the rules.
  const typescript = typecheck ? typecheckApp(appDir) : undefined;
  const findings = [...codegenFindings(appDir), ...runStaticRules(appDir)];
  const typed = typescript ? await typescript : undefined;
  if (typed) findings.push(...typed.findings);
  findings.sort(compareFindings);
  return {
    findings,
    errorCount: findings.filter((f) => f.severity === 'error').length,
    warningCount: findings.filter((f) => f.severity === 'warning').length,
    compiler: typed?.compiler,
    ran: typecheck ? ['codegen', 'typescript', 'rules'] : ['codegen', 'rules'],
  };
}
