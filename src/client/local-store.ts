// What subscribers see: the server's latest result for each query, with the optimistic updates of
// pending mutations applied on top, in order. When a mutation's result arrives its update is
// dropped — the server's own results (sent just before) already include the write, or, if the
// mutation was rejected, never did: either way the overlay is simply recomputed without it.
import { encodeValue } from '../protocol/values.js';
import type { FunctionReference } from '../server/references.js';

export interface OptimisticLocalStore {
  getQuery<Ref extends FunctionReference<'query'>>(
    ref: Ref,
    args: NonNullable<Ref['__types']>['args'],
  ): NonNullable<Ref['__types']>['returns'] | undefined;
  setQuery<Ref extends FunctionReference<'query'>>(
    ref: Ref,
    args: NonNullable<Ref['__types']>['args'],
    value: NonNullable<Ref['__types']>['returns'],
  ): void;
}

export type OptimisticUpdate = (store: OptimisticLocalStore) => void;

export function queryKey(path: string, args: unknown): string {
  return `${path}|${stableJson(encodeValue(args ?? {}))}`;
}

function stableJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : 1));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
}

export class LocalStore {
  private readonly server = new Map<string, unknown>();
  private visible = new Map<string, unknown>();
  private readonly updates: { seq: number; update: OptimisticUpdate }[] = [];

  constructor(private readonly notify: (key: string, value: unknown) => void) {}

  /** New results from the server (a batch from one message): one recompute for all of them. */
  setServerValues(entries: [string, unknown][]): void {
    for (const [key, value] of entries) this.server.set(key, value);
    if (this.updates.length === 0) {
      // Nothing optimistic pending: what is visible is exactly what the server sent.
      for (const [key, value] of entries) {
        const changed = this.visible.get(key) !== value || !this.visible.has(key);
        this.visible.set(key, value);
        if (changed) this.notify(key, value);
      }
      return;
    }
    this.recompute();
  }

  forget(key: string): void {
    this.server.delete(key);
    this.visible.delete(key);
  }

  get(key: string): unknown {
    return this.visible.get(key);
  }

  has(key: string): boolean {
    return this.visible.has(key);
  }

  addOptimistic(seq: number, update: OptimisticUpdate): void {
    this.updates.push({ seq, update });
    this.recompute();
  }

  dropOptimistic(seq: number): void {
    const index = this.updates.findIndex((u) => u.seq === seq);
    if (index === -1) return;
    this.updates.splice(index, 1);
    this.recompute();
  }

  /** Mutations got new numbers (the server knew none of them): their overlays follow. */
  renumber(map: Map<number, number>): void {
    for (const entry of this.updates) entry.seq = map.get(entry.seq) ?? entry.seq;
  }

  private recompute(): void {
    const next = new Map(this.server);
    const store: OptimisticLocalStore = {
      getQuery: (ref, args) => next.get(queryKey(ref.path, args)) as never,
      setQuery: (ref, args, value) => void next.set(queryKey(ref.path, args), value),
    };
    for (const { update } of this.updates) {
      try {
        update(store);
      } catch {
        // An optimistic update that throws just shows nothing: the server's answer is coming.
      }
    }
    const previous = this.visible;
    this.visible = next;
    for (const [key, value] of next) if (previous.get(key) !== value || !previous.has(key)) this.notify(key, value);
  }
}
