// One parse of a module per `valet check`: codegen and the static rules read the same files, and
// parsing (with turning oxc's AST into objects) is most of what either costs. Outside a check —
// codegen alone, `valet dev` — nothing is kept.
import { createRequire } from 'node:module';

type Oxc = typeof import('oxc-parser');
type Parsed = ReturnType<Oxc['parseSync']>;

// oxc-parser is loaded on the first parse: a codegen whose modules are all in the .valet/ cache
// (analysis-cache.ts) never needs it, and loading it costs ~20 ms. Where require() cannot load an
// ES module (Node before 20.19), it is imported with this module instead.
const canRequireModules = (process.features as { require_module?: boolean }).require_module === true;
let oxc: Oxc | null = canRequireModules ? null : await import('oxc-parser');
const parser = (): Oxc => (oxc ??= createRequire(import.meta.url)('oxc-parser') as Oxc);

let shared: Map<string, { text: string; parsed: Parsed }> | null = null;

export function parseModule(file: string, text: string): Parsed {
  const kept = shared?.get(file);
  if (kept && kept.text === text) return kept.parsed;
  // The JavaScript shape of the tree: type annotations left out (codegen and the rules read what
  // runs), a quarter less to turn into objects.
  const parsed = parser().parseSync(file, text, { sourceType: 'module', astType: 'js' });
  shared?.set(file, { text, parsed });
  return parsed;
}

/** Runs `work` with parses shared between its readers, then lets them go. */
export async function sharingParses<T>(work: () => Promise<T>): Promise<T> {
  shared = new Map();
  try {
    return await work();
  } finally {
    shared = null;
  }
}
