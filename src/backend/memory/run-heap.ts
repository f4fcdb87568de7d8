/**
 * The min-heap that orders pending runs by due time. Separate because it is a
 * plain data structure with no backend rules: the due-run index and every
 * job's waiting list are both instances of it.
 */
import type { RunRecord } from './run-record.js';

/** Binary min-heap of pending runs by (dueAt, seq). Removed runs stay until popped (`stale` counts them). */
export class RunHeap {
  private items: RunRecord[] = [];
  /** Entries whose run is no longer pending (deleted with its job). */
  stale = 0;

  get size(): number {
    return this.items.length;
  }

  peek(): RunRecord | undefined {
    return this.items[0];
  }

  push(record: RunRecord): void {
    const items = this.items;
    items.push(record);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(items[i]!, items[parent]!)) break;
      [items[i], items[parent]] = [items[parent]!, items[i]!];
      i = parent;
    }
  }

  pop(): RunRecord | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined || items.length === 0) return top;
    items[0] = last;
    this.siftDown(0);
    return top;
  }

  /** Keeps only the entries `keep` accepts and restores heap order in O(n). */
  rebuild(keep: (record: RunRecord) => boolean): void {
    this.items = this.items.filter(keep);
    this.stale = 0;
    for (let i = (this.items.length >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  private siftDown(start: number): void {
    const items = this.items;
    const n = items.length;
    let i = start;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < n && before(items[left]!, items[smallest]!)) smallest = left;
      if (right < n && before(items[right]!, items[smallest]!)) smallest = right;
      if (smallest === i) return;
      [items[i], items[smallest]] = [items[smallest]!, items[i]!];
      i = smallest;
    }
  }
}

function before(a: RunRecord, b: RunRecord): boolean {
  return a.dueAt < b.dueAt || (a.dueAt === b.dueAt && a.seq < b.seq);
}
