// The templates `valet init` and create-valet copy: where they are and what each says about
// itself. Every function takes the templates folder, so create-valet (which ships its own copy of
// templates/ and nothing of the valet package) reads them the same way.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TemplateInfo {
  name: string;
  description: string;
  /** A template that extends another is copied over it: `react` is `basic` plus a web page. */
  extends?: string;
}

export function listTemplates(templatesDir: string): TemplateInfo[] {
  return readdirSync(templatesDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(templatesDir, entry.name, 'template.json')))
    .map((entry) => ({
      name: entry.name,
      ...JSON.parse(readFileSync(join(templatesDir, entry.name, 'template.json'), 'utf8')),
    }))
    .sort((a, b) => (a.name === 'basic' ? -1 : b.name === 'basic' ? 1 : a.name.localeCompare(b.name)));
}

/** The template directories to copy, base first. */
export function templateLayers(templatesDir: string, name: string): string[] {
  const templates = new Map(listTemplates(templatesDir).map((t) => [t.name, t]));
  const layers: string[] = [];
  for (
    let current = templates.get(name);
    current;
    current = current.extends ? templates.get(current.extends) : undefined
  ) {
    if (layers.includes(current.name)) throw new Error(`template "${name}" extends itself`);
    layers.unshift(current.name);
  }
  return layers.map((layer) => join(templatesDir, layer));
}
