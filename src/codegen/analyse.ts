// Analyses every module under valet/ into the model codegen renders: functions by module, with
// simple re-exports (`export { x } from './other'`, `export * from`) followed to their definitions.
import { readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { UserError } from '../errors/user-error.js';
import { AnalysisCache } from './analysis-cache.js';
import { analyseModule } from './analyse-module.js';
import type { ModuleAnalysis } from './analyse-module.js';
import { findModuleFiles, modulePathOf } from './find-modules.js';
import type { AppModel, Diagnostic, FunctionModel, ModuleModel } from './model.js';

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
/** Modules whose default export is the app's schema, cron jobs or routes, never a function. */
const SPECIAL_MODULES = ['schema', 'crons', 'http'];

/**
 * Analyses of unchanged files are reused, keyed by path and exact content (timestamps can be too
 * coarse to tell two quick saves apart): in `valet dev` a save re-parses only the file that changed.
 */
const analysisCache = new Map<string, { text: string; analysis: ModuleAnalysis }>();
/** Apps whose analyses were read from (and written back to) their .valet/ cache in this process. */
const persisted = new Set<string>();

function analyseFile(path: string, file: string, stored: AnalysisCache | null): ModuleAnalysis {
  const text = readFileSync(path, 'utf8');
  const cached = analysisCache.get(path);
  if (cached && cached.text === text) return cached.analysis;
  let analysis = stored?.get(file, text);
  if (!analysis) {
    analysis = analyseModule(file, text);
    stored?.set(file, text, analysis);
  }
  analysisCache.set(path, { text, analysis });
  return analysis;
}

/** Analyses every module under `<appDir>/valet/` into the model the templates render. */
export function analyseApp(appDir: string): AppModel {
  const valetDir = join(appDir, 'valet');
  const diagnostics: Diagnostic[] = [];
  const modules: ModuleModel[] = [];
  let hasSchema = false;

  const analyses = new Map<string, { relative: string; analysis: ModuleAnalysis }>();
  // The first analysis in a process starts from the .valet/ cache (analysis-cache.ts); later ones
  // (valet dev's reloads) have every unchanged module in memory already.
  const stored = persisted.has(appDir) ? null : AnalysisCache.for(appDir);
  persisted.add(appDir);
  const files: string[] = [];
  for (const relative of findModuleFiles(valetDir)) {
    const file = `valet/${relative}`;
    files.push(file);
    const analysis = analyseFile(join(valetDir, relative), file, stored);
    diagnostics.push(...analysis.diagnostics);
    analyses.set(modulePathOf(relative), { relative, analysis });
    if (SCHEMA_FILES.includes(relative)) {
      hasSchema = true;
      if (!analysis.hasDefaultExport && analysis.diagnostics.length === 0) {
        diagnostics.push({
          file,
          line: 1,
          column: 1,
          message: 'the schema must `export default defineSchema({ ... })`',
        });
      }
    }
  }
  for (const [path, { relative, analysis }] of analyses) {
    const functions = functionsOf(path, analyses, new Set());
    const known = new Set(functions.map((fn) => fn.name));
    // The default export of the schema, the crons or the routes is never a function.
    const otherExports = analysis.exportedValues.filter(
      (name) => !known.has(name) && !(name === 'default' && SPECIAL_MODULES.includes(path)),
    );
    if (functions.length > 0 || otherExports.length > 0)
      modules.push({
        path,
        file: `valet/${relative}`,
        importPath: path,
        functions: [...functions].sort((a, b) => compare(a.name, b.name)),
        otherExports: otherExports.sort(compare),
      });
  }
  stored?.save(files);
  diagnostics.push(...findNameClashes(modules));
  if (diagnostics.length > 0) throw new CodegenError(diagnostics);
  return { modules, hasSchema };
}

/** A module's functions: its own definitions, and those it re-exports from other valet/ modules. */
function functionsOf(
  path: string,
  analyses: Map<string, { relative: string; analysis: ModuleAnalysis }>,
  visiting: Set<string>,
): FunctionModel[] {
  const entry = analyses.get(path);
  if (!entry || visiting.has(path)) return [];
  visiting.add(path);
  const own = [...entry.analysis.functions];
  for (const reExport of entry.analysis.reExports) {
    if (!reExport.source.startsWith('.')) continue;
    const target = modulePathOf(posix.normalize(posix.join(posix.dirname(entry.relative), reExport.source)));
    const theirs = functionsOf(target, analyses, visiting);
    const picked =
      reExport.names === null
        ? theirs.filter((fn) => fn.name !== 'default')
        : [...reExport.names].flatMap(([exported, original]) =>
            theirs.filter((fn) => fn.name === original).map((fn) => ({ ...fn, name: exported })),
          );
    for (const fn of picked) if (!own.some((mine) => mine.name === fn.name)) own.push({ ...fn, line: reExport.line });
  }
  visiting.delete(path);
  return own;
}

/** `api.admin.users` cannot be both a function exported by admin.ts and the folder admin/users/. */
function findNameClashes(modules: ModuleModel[]): Diagnostic[] {
  // Every module path and every folder above one: `a/b/c` makes `a/b/c`, `a/b` and `a` taken.
  const taken = new Set<string>();
  for (const { path } of modules)
    for (let end = path.length; end > 0; end = path.lastIndexOf('/', end - 1)) taken.add(path.slice(0, end));
  const clashes: Diagnostic[] = [];
  for (const module of modules) {
    for (const fn of module.functions) {
      if (taken.has(`${module.path}/${fn.name}`)) {
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
