/**
 * A binary min-heap ordered by `at`, then insertion order, so entries due at
 * the same instant come out first-in first-out. Used for the scheduler's due
 * slots: the earliest is read in O(1), inserts and pops are O(log n), and
 * nothing ever scans every job.
 */
export class MinHeap<T> {
  private readonly items: Array<{ at: number; seq: number; value: T }> = [];
  private seq = 0;

  get size(): number {
    return this.items.length;
  }

  /** Due time of the earliest entry, or undefined when empty. */
  peekAt(): number | undefined {
    return this.items[0]?.at;
  }

  push(at: number, value: T): void {
    const items = this.items;
    const node = { at, seq: this.seq++, value };
    let i = items.length;
    items.push(node);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!less(node, items[parent]!)) break;
      items[i] = items[parent]!;
      i = parent;
    }
    items[i] = node;
  }

  /** Removes and returns the earliest entry. */
  pop(): { at: number; value: T } | undefined {
    const items = this.items;
    const top = items[0];
    if (top === undefined) return undefined;
    const last = items.pop()!;
    if (items.length > 0) {
      let i = 0;
      const n = items.length;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= n) break;
        const right = left + 1;
        const child = right < n && less(items[right]!, items[left]!) ? right : left;
        if (!less(items[child]!, last)) break;
        items[i] = items[child]!;
        i = child;
      }
      items[i] = last;
    }
    return { at: top.at, value: top.value };
  }

  clear(): void {
    this.items.length = 0;
  }
}

function less(a: { at: number; seq: number }, b: { at: number; seq: number }): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
