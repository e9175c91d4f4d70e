// `valet check` as a programmatic API: codegen freshness, the TypeScript check, Valet's static
// rules, and the functions the engine would serve that the generated api misses — one list of
// findings. The TypeScript check runs in its own process while the rest runs here.
import { analyseApp } from '../codegen/analyse.js';
import { checkCodegen, CodegenError } from '../codegen/index.js';
import { sharingParses } from '../codegen/parse.js';
import type { AppModel } from '../codegen/model.js';
import type { Finding } from './finding.js';
import { compareFindings } from './finding.js';
import { startServedCheck } from './served-functions.js';
import { runStaticRules } from './static-rules.js';
import { typecheckApp } from './typecheck.js';
import type { TypeScriptCompiler } from './typecheck.js';

export type { Finding } from './finding.js';

export interface CheckOptions {
  typecheck?: boolean;
  /** The type-check, already started by the caller (the CLI starts it before loading the rest). */
  typecheckRun?: ReturnType<typeof typecheckApp>;
}

export interface CheckReport {
  findings: Finding[];
  errorCount: number;
  warningCount: number;
  compiler?: TypeScriptCompiler;
  /** Which parts ran, for the summary. */
  ran: ('codegen' | 'typescript' | 'rules')[];
}

function codegenFindings(appDir: string): { findings: Finding[]; model: AppModel | null } {
  try {
    const findings = checkCodegen(appDir).map((stale) => ({
      file: stale.path,
      line: 1,
      column: 1,
      rule: 'codegen-stale',
      severity: 'error' as const,
      message: `generated file is ${stale.reason}`,
      fix: 'run `valet codegen` and commit the result',
    }));
    return { findings, model: analyseApp(appDir) };
  } catch (error) {
    if (!(error instanceof CodegenError)) throw error;
    return {
      findings: error.diagnostics.map((d) => ({ ...d, rule: 'codegen', severity: 'error' as const })),
      model: null,
    };
  }
}

export async function runCheck(appDir: string, options: CheckOptions = {}): Promise<CheckReport> {
  const typecheck = options.typecheck !== false;
  // Start tsc first: it runs in its own process while this one does codegen and the rules.
  const typescript = typecheck ? (options.typecheckRun ?? typecheckApp(appDir)) : undefined;
  // The bundler works in its own process too, while codegen and the rules run here.
  const served = startServedCheck(appDir);
  const findings: Finding[] = [];
  let model: AppModel | null = null;
  try {
    model = await sharingParses(async () => {
      const codegen = codegenFindings(appDir);
      findings.push(...codegen.findings, ...runStaticRules(appDir));
      return codegen.model;
    });
  } finally {
    // Whatever happened, the bundler is stopped (with no model, nothing is compared).
    findings.push(...(await served.finish(model)));
  }
  const typed = typescript ? await typescript : undefined;
  if (typed) findings.push(...typed.findings);
  findings.sort(compareFindings);
  return {
    findings,
    errorCount: findings.filter((f) => f.severity === 'error').length,
    warningCount: findings.filter((f) => f.severity === 'warning').length,
    compiler: typed?.compiler ?? undefined,
    ran: typecheck ? ['codegen', 'typescript', 'rules'] : ['codegen', 'rules'],
  };
}
