// The lines around a problem, for every error that names file:line (build, codegen, check), so a
// user sees the code without opening the file.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Two lines of context around `line` and a caret under `column`, as compilers print them. */
export function codeFrame(appDir: string, file: string, line: number, column: number): string {
  let lines: string[];
  try {
    lines = readFileSync(join(appDir, file), 'utf8').split('\n');
  } catch {
    return '';
  }
  const first = Math.max(1, line - 2);
  const last = Math.min(lines.length, line + 1);
  const width = String(last).length;
  const out: string[] = [];
  for (let n = first; n <= last; n++) {
    out.push(`${n === line ? '>' : ' '} ${String(n).padStart(width)} | ${lines[n - 1]}`);
    if (n === line) out.push(`  ${' '.repeat(width)} | ${' '.repeat(Math.max(0, column - 1))}^`);
  }
  return out.join('\n');
}
