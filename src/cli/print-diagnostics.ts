// Codegen's problems printed the one way every command prints them: file:line:column, the message,
// a code frame.
import kleur from 'kleur';
import type { Diagnostic } from '../codegen/model.js';
import { codeFrame } from '../project/code-frame.js';

export function printCodegenErrors(appDir: string, diagnostics: Diagnostic[]): void {
  for (const d of diagnostics) {
    process.stderr.write(`${kleur.bold(`${d.file}:${d.line}:${d.column}`)} ${d.message}\n`);
    const frame = codeFrame(appDir, d.file, d.line, d.column);
    if (frame) process.stderr.write(`${kleur.dim(frame)}\n\n`);
  }
}
