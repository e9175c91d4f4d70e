// The layout's rules, checked on every run: each folder imports only the folders below it (the
// table in ARCHITECTURE.md), nothing in valet/server, valet/client or valet/react touches Node,
// and there are no import circles (type-only imports aside).
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/apps.js';

const SRC = join(REPO_ROOT, 'src');

/**
 * Folder → the folders it may import from (besides itself), read from the table in ARCHITECTURE.md
 * ("Folders, bottom to top"), so the document and the rule cannot drift apart.
 */
function allowedImports(): Record<string, string[]> {
  const text = readFileSync(join(REPO_ROOT, 'ARCHITECTURE.md'), 'utf8');
  const allowed: Record<string, string[]> = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith('| `src/')) continue;
    const cells = line.split(' | ');
    const folders = [...cells[0]!.matchAll(/`src\/(\w+)\/`/g)].map((m) => m[1]!);
    const last = cells[cells.length - 1]!;
    // "every folder but `client`…, lazily: `bundler`, …": the names after the colon.
    const imports = [...last.slice(last.indexOf(':') + 1).matchAll(/`(\w+)`/g)].map((m) => m[1]!);
    for (const folder of folders) allowed[folder] = imports;
  }
  return allowed;
}
const ALLOWED = allowedImports();
const BROWSER_SAFE = ['server', 'client', 'react', 'protocol'];

interface Edge {
  from: string;
  to: string;
  typeOnly: boolean;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? sourceFiles(path) : entry.name.endsWith('.ts') ? [path] : [];
  });
}

const files = sourceFiles(SRC);
const edges: Edge[] = [];
const nodeImports: { file: string; specifier: string }[] = [];
for (const file of files) {
  const text = readFileSync(file, 'utf8');
  for (const match of text.matchAll(/^(import|export)\s+(type\s+)?[^'"]*?from\s+'([^']+)'/gm)) {
    const specifier = match[3]!;
    if (specifier.startsWith('.'))
      edges.push({
        from: file,
        to: resolve(dirname(file), specifier.replace(/\.js$/, '.ts')),
        typeOnly: Boolean(match[2]),
      });
    else if (!match[2]) nodeImports.push({ file, specifier });
  }
  for (const match of text.matchAll(/import\('(\.[^']+)'\)/g))
    edges.push({ from: file, to: resolve(dirname(file), match[1]!.replace(/\.js$/, '.ts')), typeOnly: false });
}
const folderOf = (file: string) => relative(SRC, file).split('/')[0]!;

describe('the layout', () => {
  it('every folder of src/ has a rule', () => {
    expect(
      Object.keys(ALLOWED)
        .filter((folder) => files.some((f) => folderOf(f) === folder))
        .sort(),
    ).toEqual([...new Set(files.map(folderOf))].filter((f) => !f.endsWith('.ts')).sort());
  });

  it('no folder imports one above it', () => {
    const violations = edges
      .filter(
        (edge) =>
          folderOf(edge.from) !== folderOf(edge.to) && !ALLOWED[folderOf(edge.from)]?.includes(folderOf(edge.to)),
      )
      .map((edge) => `${relative(SRC, edge.from)} → ${relative(SRC, edge.to)}`);
    expect(violations).toEqual([]);
  });

  it('valet/server, valet/client, valet/react and the protocol import nothing from Node', () => {
    const violations = nodeImports
      .filter(
        ({ file, specifier }) =>
          BROWSER_SAFE.includes(folderOf(file)) &&
          (specifier.startsWith('node:') || ['better-sqlite3', 'ws', 'undici'].includes(specifier)),
      )
      .filter(({ file }) => !file.endsWith('client/node.ts') && !file.endsWith('client/file-storage.ts'))
      .map(({ file, specifier }) => `${relative(SRC, file)} imports ${specifier}`);
    expect(violations).toEqual([]);
  });

  it('has no import circles (type-only imports aside)', () => {
    const graph = new Map<string, string[]>();
    for (const edge of edges.filter((e) => !e.typeOnly))
      graph.set(edge.from, [...(graph.get(edge.from) ?? []), edge.to]);
    const cycles: string[] = [];
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (file: string, path: string[]) => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'visiting') {
        cycles.push([...path.slice(path.indexOf(file)), file].map((f) => relative(SRC, f)).join(' → '));
        return;
      }
      state.set(file, 'visiting');
      for (const next of graph.get(file) ?? []) visit(next, [...path, file]);
      state.set(file, 'done');
    };
    for (const file of files) visit(file, []);
    expect(cycles).toEqual([]);
  });
});
