// A finding of `valet check`, in one shape for the terminal, --json and CI annotations.
export type Severity = 'error' | 'warning';

/** One problem `valet check` reports: where, which rule, what is wrong, and how to fix it. */
export interface Finding {
  file: string;
  line: number;
  column: number;
  rule: string;
  severity: Severity;
  message: string;
  fix?: string;
}

export function compareFindings(a: Finding, b: Finding): number {
  return a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column || a.rule.localeCompare(b.rule);
}
