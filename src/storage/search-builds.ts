// What a start reports of the search indexes it built from stored documents. Apart from
// search-indexes.ts so that the CLI's ready lines need none of the indexing code (nor node:crypto)
// loaded with every command.

export interface BuiltSearchIndex {
  index: string;
  documents: number;
}

/** For ready lines: `search indexes built: messages.search_body (1,200 documents)`, or null. */
export function describeSearchBuilds(built: readonly BuiltSearchIndex[]): string | null {
  if (built.length === 0) return null;
  const list = built.map((b) => `${b.index} (${b.documents.toLocaleString('en')} documents)`).join(', ');
  return `search index${built.length === 1 ? '' : 'es'} built: ${list}`;
}
