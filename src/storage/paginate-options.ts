// What paginate() takes, and the one check of it that index and search queries share.
import { EngineError } from '../protocol/engine-error.js';

export interface PaginateOptions {
  cursor: string | null;
  numItems: number;
  /** Pins the page's end: every row up to this cursor, however many (how live pages keep their boundaries). */
  endCursor?: string | null;
  /** At most this many rows are read for one page (filters may skip many). */
  maximumRowsRead?: number;
}

/** What every paginate() asks of its options (index and search queries alike). */
export function checkPaginateOptions(options: PaginateOptions): void {
  if (options === null || typeof options !== 'object')
    throw new EngineError('invalid_query', 'paginate: pass { cursor, numItems } (paginationOpts from the args)');
  if (!Number.isInteger(options.numItems) || options.numItems <= 0)
    throw new EngineError('invalid_query', `paginate: numItems must be a positive integer, got ${options.numItems}`);
}
