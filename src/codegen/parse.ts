// One parse of a module per `valet check`: codegen and the static rules read the same files, and
// parsing (with turning oxc's AST into objects) is most of what either costs. Outside a check —
// codegen alone, `valet dev` — nothing is kept.
import { parseSync } from 'oxc-parser';

type Parsed = ReturnType<typeof parseSync>;

let shared: Map<string, { text: string; parsed: Parsed }> | null = null;

export function parseModule(file: string, text: string): Parsed {
  const kept = shared?.get(file);
  if (kept && kept.text === text) return kept.parsed;
  // The JavaScript shape of the tree: type annotations left out (codegen and the rules read what
  // runs), a quarter less to turn into objects.
  const parsed = parseSync(file, text, { sourceType: 'module', astType: 'js' });
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
