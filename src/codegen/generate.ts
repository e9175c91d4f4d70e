// The model of an app rendered into its generated files (pure: the same model gives the same
// bytes).
import { analyseApp } from './analyse.js';
import type { AppModel } from './model.js';
import { renderApi } from './templates/api.js';
import { GENERATED_DIR } from './templates/banner.js';
import { renderDataModel } from './templates/data-model.js';
import { renderReact } from './templates/react.js';

export interface GeneratedFile {
  /** Relative to the app root: `valet/_generated/valet/api.ts`. */
  path: string;
  content: string;
}

/** Pure: the same model always renders to byte-identical files. */
export function renderFiles(model: AppModel): GeneratedFile[] {
  return [
    { path: `${GENERATED_DIR}/api.ts`, content: renderApi(model) },
    { path: `${GENERATED_DIR}/dataModel.ts`, content: renderDataModel(model) },
    { path: `${GENERATED_DIR}/react.ts`, content: renderReact() },
  ];
}

export function generateFiles(appDir: string): { model: AppModel; files: GeneratedFile[] } {
  const model = analyseApp(appDir);
  return { model, files: renderFiles(model) };
}
