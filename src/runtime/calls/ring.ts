// The newest N records of this process (valet dev keeps its activity log in memory): a fixed
// array written round and round, read newest first.
export class Ring<T> {
  private readonly items: (T | undefined)[];
  private next = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    this.items = new Array(capacity);
  }

  push(item: T): void {
    this.items[this.next] = item;
    this.next = (this.next + 1) % this.capacity;
    this.count = Math.min(this.count + 1, this.capacity);
  }

  /** Newest first. */
  *newestFirst(): Generator<T> {
    for (let i = 1; i <= this.count; i++) yield this.items[(this.next - i + this.capacity) % this.capacity]!;
  }

  get size(): number {
    return this.count;
  }
}
