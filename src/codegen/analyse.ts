import { readFileSync } from 'node:fs';
import { UserError } from '../errors/user-error.js';
import { join } from 'node:path';
import { analyseModule } from './analyse-module.js';
import type { ModuleAnalysis } from './analyse-module.js';
import { findModuleFiles, modulePathOf } from './find-modules.js';
import type { AppModel, Diagnostic, ModuleModel } from './model.js';

/** Thrown when some module cannot be analysed; carries every problem found, each with file:line. */
export class CodegenError extends UserError {
  constructor(readonly diagnostics: Diagnostic[]) {
    super(diagnostics.map(formatDiagnostic).join('\n'), { locations: diagnostics });
    this.name = 'CodegenError';
  }
}

export function formatDiagnostic(d: Diagnostic): string {
  return `${d.file}:${d.line}:${d.column}: ${d.message}`;
}

const SCHEMA_FILES = ['schema.ts', 'schema.js'];

/**
 * Analyses of unchanged files are reused, keyed by path and exact content (timestamps can be too
 * coarse to tell two quick saves apart): in `valet dev` a save re-parses only the file that changed.
 */
const analysisCache = new Map<string, { text: string; analysis: ModuleAnalysis }>();

function analyseFile(path: string, file: string): ModuleAnalysis {
  const text = readFileSync(path, 'utf8');
  const cached = analysisCache.get(path);
  if (cached && cached.text === text) return cached.analysis;
  const analysis = analyseModule(file, text);
  analysisCache.set(path, { text, analysis });
  return analysis;
}

/** Analyses every module under `<appDir>/valet/` into the model the templates render. */
export function analyseApp(appDir: string): AppModel {
  const valetDir = join(appDir, 'valet');
  const diagnostics: Diagnostic[] = [];
  const modules: ModuleModel[] = [];
  let hasSchema = false;

  for (const relative of findModuleFiles(valetDir)) {
    const file = `valet/${relative}`;
    const analysis = analyseFile(join(valetDir, relative), file);
    diagnostics.push(...analysis.diagnostics);
    if (SCHEMA_FILES.includes(relative)) {
      hasSchema = true;
      if (!analysis.hasDefaultExport && analysis.diagnostics.length === 0) {
        diagnostics.push({ file, line: 1, column: 1, message: 'the schema must `export default defineSchema({ ... })`' });
      }
    }
    if (analysis.functions.length > 0) {
      const path = modulePathOf(relative);
      modules.push({ path, file, importPath: path, functions: [...analysis.functions].sort((a, b) => compare(a.name, b.name)) });
    }
  }
  diagnostics.push(...findNameClashes(modules));
  if (diagnostics.length > 0) throw new CodegenError(diagnostics);
  return { modules, hasSchema };
}

/** `api.admin.users` cannot be both a function exported by admin.ts and the folder admin/users/. */
function findNameClashes(modules: ModuleModel[]): Diagnostic[] {
  const paths = new Set(modules.map((m) => m.path));
  const clashes: Diagnostic[] = [];
  for (const module of modules) {
    for (const fn of module.functions) {
      if (paths.has(`${module.path}/${fn.name}`) || [...paths].some((p) => p.startsWith(`${module.path}/${fn.name}/`))) {
        clashes.push({
          file: module.file,
          line: fn.line,
          column: 1,
          message: `${fn.name}: api.${module.path.replaceAll('/', '.')}.${fn.name} would be both this function and the folder valet/${module.path}/${fn.name}; rename one`,
        });
      }
    }
  }
  return clashes;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
