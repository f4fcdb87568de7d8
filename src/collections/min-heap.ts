/** What the heap orders by: earlier `dueAt` first, equal `dueAt` in `seq` order (first in, first out). */
export interface DueOrdered {
  readonly dueAt: number;
  readonly seq: number;
}

/**
 * A binary min-heap of due items: the earliest is read in O(1), inserts and
 * pops are O(log n), and nothing scans every item. The scheduler's due slots
 * and the memory backend's pending runs are both instances of it. The order
 * is fixed (one module-level function, not a comparator per heap) because
 * it runs on every fire: a comparator passed in measured about 1.8x slower
 * per push and pop once two heaps with different comparators share the code.
 *
 * @example
 * const heap = new MinHeap<{ dueAt: number; seq: number; job: string }>();
 */
export class MinHeap<T extends DueOrdered> {
  private items: T[] = [];

  get size(): number {
    return this.items.length;
  }

  /** The earliest item, or undefined when empty. */
  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    const items = this.items;
    let i = items.length;
    items.push(item);
    // Move the hole up instead of swapping: one write per level.
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(item, items[parent]!)) break;
      items[i] = items[parent]!;
      i = parent;
    }
    items[i] = item;
  }

  /** Removes and returns the earliest item. */
  pop(): T | undefined {
    const items = this.items;
    const top = items[0];
    if (top === undefined) return undefined;
    const last = items.pop()!;
    if (items.length > 0) this.siftDown(0, last);
    return top;
  }

  /** Keeps only the items `keep` accepts and restores heap order in O(n). */
  rebuild(keep: (item: T) => boolean): void {
    this.items = this.items.filter(keep);
    for (let i = (this.items.length >> 1) - 1; i >= 0; i--) this.siftDown(i, this.items[i]!);
  }

  clear(): void {
    this.items.length = 0;
  }

  /** Puts `item` at `start` and moves it down to where it belongs. */
  private siftDown(start: number, item: T): void {
    const items = this.items;
    const n = items.length;
    let i = start;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && before(items[right]!, items[left]!) ? right : left;
      if (!before(items[child]!, item)) break;
      items[i] = items[child]!;
      i = child;
    }
    items[i] = item;
  }
}

function before(a: DueOrdered, b: DueOrdered): boolean {
  return a.dueAt < b.dueAt || (a.dueAt === b.dueAt && a.seq < b.seq);
}
