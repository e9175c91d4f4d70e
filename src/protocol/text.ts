// One rule for text on both backends: every string and object key a caller sends or a handler
// stores is well-formed Unicode without U+0000. PostgreSQL cannot hold either (jsonb refuses a
// lone surrogate and U+0000, text parameters refuse U+0000) and SQLite would keep them, so the
// same input would be a 500 on one backend and a stored value on the other: refused on both.

type WellFormed = string & { isWellFormed(): boolean };

/** What is wrong with a string, or null: "holds …", to follow the path that names it. */
export function textProblem(text: string): string | null {
  if (text.includes('\u0000')) return 'holds the character U+0000, which cannot be stored';
  if (!(text as WellFormed).isWellFormed()) return 'holds a lone UTF-16 surrogate, which is not valid Unicode';
  return null;
}

/** Whether a string may be stored, compared with stored values or named in a query. */
export function isStorableText(text: string): boolean {
  return !text.includes('\u0000') && (text as WellFormed).isWellFormed();
}
