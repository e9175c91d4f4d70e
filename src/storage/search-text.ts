// The words of a text, as full-text search indexes and matches them: folded (lower case, no
// diacritics, compatibility forms unified) and split into runs of letters and digits. Done here,
// once, rather than by each engine's tokenizer, so SQLite's FTS5 and PostgreSQL's tsvector are
// given the same words and a search finds the same documents on both backends.

/** A longer word is cut to this many characters (PostgreSQL would otherwise skip it). */
export const MAX_WORD_LENGTH = 64;
/** Words of a field past this many are not indexed (PostgreSQL's tsvector keeps positions up to 16 383). */
export const MAX_INDEXED_WORDS = 16_383;
/** Words of a search past this many are ignored. */
export const MAX_SEARCH_WORDS = 16;

const WORD = /[\p{L}\p{N}]+/gu;
const MARKS = /\p{M}+/gu;

/** Lower case first (so İ becomes i plus a mark), then compatibility decomposition, then no marks. */
export function foldText(text: string): string {
  return text.toLowerCase().normalize('NFKD').replace(MARKS, '');
}

export function wordsOf(text: string, limit: number): string[] {
  const words: string[] = [];
  for (const match of foldText(text).matchAll(WORD)) {
    words.push(match[0].length > MAX_WORD_LENGTH ? [...match[0]].slice(0, MAX_WORD_LENGTH).join('') : match[0]);
    if (words.length >= limit) break;
  }
  return words;
}

/**
 * What a search index stores for a document's field: its words, each with a space on both sides
 * (` a  b `), so occurrences of a word are counted by replacing ` word ` and those starting with a
 * prefix by replacing ` prefix`; and how many words. Null when the field is not text or has no words.
 */
export function indexedTerms(value: unknown): { terms: string; count: number } | null {
  if (typeof value !== 'string') return null;
  const words = wordsOf(value, MAX_INDEXED_WORDS);
  if (words.length === 0) return null;
  return { terms: ` ${words.join('  ')} `, count: words.length };
}

export interface SearchTerms {
  /** Distinct words to find; the last is also matched as a prefix. */
  words: string[];
}

/**
 * A search string as words to match: never query syntax, whatever it holds (quotes, `*`, `NEAR`,
 * `&`, SQL). Empty when it holds no letters or digits: such a search finds nothing.
 */
export function searchTerms(query: string): SearchTerms {
  const words = wordsOf(query, MAX_SEARCH_WORDS);
  // A repeated word finds nothing more; keep the last occurrence so the prefix stays last.
  const distinct = words.filter((word, i) => words.lastIndexOf(word) === i);
  return { words: distinct };
}
