// A live paginated list, the way Convex keeps one: each loaded page is its own live query. When
// another page is loaded after it, a page is re-subscribed with its end pinned (`endCursor`), so
// rows inserted inside its range join it (it grows) and rows moved out leave it — the pages stay
// contiguous, and their concatenation is always the whole query: no row lost, none twice.
import type { ValetClientError } from './errors.js';

export type PaginationStatus = 'LoadingFirstPage' | 'CanLoadMore' | 'LoadingMore' | 'Exhausted';

export interface PaginatedState<Item> {
  results: Item[];
  status: PaginationStatus;
  /** The first error a page reported (its results are then left out). */
  error?: ValetClientError;
}

interface PageResult<Item> {
  page: Item[];
  isDone: boolean;
  continueCursor: string;
}

/** What the controller needs of a client: a live subscription. */
type Subscribe = (
  args: Record<string, unknown>,
  onUpdate: (value: unknown, error?: ValetClientError) => void,
) => () => void;

interface Page<Item> {
  id: number;
  cursor: string | null;
  numItems: number;
  endCursor: string | null;
  result?: PageResult<Item>;
  error?: ValetClientError;
  stop: () => void;
}

let nextPageId = 1;

export class PaginatedQuery<Item> {
  private readonly pages: Page<Item>[] = [];
  private stopped = false;

  constructor(
    private readonly subscribe: Subscribe,
    private readonly args: Record<string, unknown>,
    initialNumItems: number,
    private readonly onChange: (state: PaginatedState<Item>) => void,
  ) {
    if (!Number.isInteger(initialNumItems) || initialNumItems <= 0)
      throw new TypeError(`initialNumItems must be a positive integer, got ${initialNumItems}`);
    this.pages.push(this.open(null, initialNumItems, null));
  }

  private open(cursor: string | null, numItems: number, endCursor: string | null, replacing?: Page<Item>): Page<Item> {
    const page: Page<Item> = { id: nextPageId++, cursor, numItems, endCursor, stop: () => undefined };
    const paginationOpts = { cursor, numItems, id: page.id, ...(endCursor === null ? {} : { endCursor }) };
    page.stop = this.subscribe({ ...this.args, paginationOpts }, (value, error) => {
      if (this.stopped) return;
      page.error = error;
      if (!error) page.result = value as PageResult<Item>;
      // A pinned page takes over from the one it replaces once it has its first answer.
      const index = replacing ? this.pages.indexOf(replacing) : -1;
      if (index !== -1) {
        this.pages[index] = page;
        replacing!.stop();
      }
      this.emit();
    });
    return page;
  }

  /** Loads `numItems` more after the last page; false when there is nothing (yet) to load. */
  loadMore(numItems: number): boolean {
    if (!Number.isInteger(numItems) || numItems <= 0)
      throw new TypeError(`loadMore: numItems must be a positive integer, got ${numItems}`);
    const last = this.pages[this.pages.length - 1]!;
    if (this.stopped || !last.result || last.result.isDone || this.pending()) return false;
    const boundary = last.result.continueCursor;
    if (last.endCursor === null) this.open(last.cursor, last.numItems, boundary, last);
    this.pages.push(this.open(boundary, numItems, null));
    this.emit();
    return true;
  }

  /** A page still waiting for its first answer. */
  private pending(): boolean {
    return this.pages.some((page) => !page.result && !page.error);
  }

  get state(): PaginatedState<Item> {
    const first = this.pages[0]!;
    const last = this.pages[this.pages.length - 1]!;
    const error = this.pages.find((page) => page.error)?.error;
    const results = this.pages.flatMap((page) => page.result?.page ?? []);
    let status: PaginationStatus;
    if (!first.result) status = 'LoadingFirstPage';
    else if (!last.result) status = 'LoadingMore';
    else status = last.result.isDone ? 'Exhausted' : 'CanLoadMore';
    return error ? { results, status, error } : { results, status };
  }

  private emit(): void {
    this.onChange(this.state);
  }

  stop(): void {
    this.stopped = true;
    for (const page of this.pages) page.stop();
  }
}
