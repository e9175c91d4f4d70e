// Programmatic codegen API: what `valet codegen`, `valet check` and (later) `valet dev` call.
import { generateFiles } from './generate.js';
import { findStaleFiles, writeGeneratedFiles } from './write.js';
import type { StaleFile } from './write.js';
import type { AppModel } from './model.js';

export { CodegenError, formatDiagnostic } from './analyse.js';
export type { AppModel, Diagnostic, FunctionModel, ModuleModel } from './model.js';
export type { StaleFile } from './write.js';

export interface CodegenResult {
  model: AppModel;
  /** Paths written (relative to the app); empty when everything was already current. */
  written: string[];
}

/** Analyses valet/ and writes what changed. Throws CodegenError, writing nothing, if any module cannot be analysed. */
export function runCodegen(appDir: string): CodegenResult {
  const { model, files } = generateFiles(appDir);
  return { model, written: writeGeneratedFiles(appDir, files) };
}

/** Analyses valet/ and reports generated files that are missing or stale, writing nothing. */
export function checkCodegen(appDir: string): StaleFile[] {
  return findStaleFiles(appDir, generateFiles(appDir).files);
}
