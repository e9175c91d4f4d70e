// Paginated queries take their options as an argument, validated like any other: Convex's
// `paginationOptsValidator`, for `args: { paginationOpts: paginationOptsValidator }`.
import { v } from './values.js';

export const paginationOptsValidator = v.object({
  numItems: v.number(),
  cursor: v.union(v.string(), v.null()),
  endCursor: v.optional(v.union(v.string(), v.null())),
  maximumRowsRead: v.optional(v.number()),
  id: v.optional(v.number()),
});
