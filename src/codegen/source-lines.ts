// Offsets to line:column, so every codegen diagnostic names a place a user can open.
import type { SourceLocation } from './model.js';

/** Maps character offsets to 1-based line and column, built once per file. */
export function lineLocator(file: string, text: string): (offset: number) => SourceLocation {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) starts.push(i + 1);
  return (offset) => {
    let low = 0;
    let high = starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (starts[mid]! <= offset) low = mid;
      else high = mid - 1;
    }
    return { file, line: low + 1, column: offset - starts[low]! + 1 };
  };
}
