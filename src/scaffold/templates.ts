import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../project/package-info.js';

export const TEMPLATES_DIR = join(PACKAGE_ROOT, 'templates');

export interface TemplateInfo {
  name: string;
  description: string;
  /** A template that extends another is copied over it: `react` is `basic` plus a web page. */
  extends?: string;
}

export function listTemplates(): TemplateInfo[] {
  return readdirSync(TEMPLATES_DIR, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(TEMPLATES_DIR, entry.name, 'template.json')))
    .map((entry) => ({
      name: entry.name,
      ...JSON.parse(readFileSync(join(TEMPLATES_DIR, entry.name, 'template.json'), 'utf8')),
    }))
    .sort((a, b) => (a.name === 'basic' ? -1 : b.name === 'basic' ? 1 : a.name.localeCompare(b.name)));
}

/** The template directories to copy, base first. */
export function templateLayers(name: string): string[] {
  const templates = new Map(listTemplates().map((t) => [t.name, t]));
  const layers: string[] = [];
  for (
    let current = templates.get(name);
    current;
    current = current.extends ? templates.get(current.extends) : undefined
  ) {
    if (layers.includes(current.name)) throw new Error(`template "${name}" extends itself`);
    layers.unshift(current.name);
  }
  return layers.map((layer) => join(TEMPLATES_DIR, layer));
}
