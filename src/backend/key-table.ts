import type { KeyFilter } from './key-filter.js';

/** Changes kept for `changesSince`; a mirror further behind re-sends everything. */
const MAX_LOG = 10_000;

/**
 * A map from job key to a value that implements `KeyFilter` over its keys:
 * the scheduler's table of registered jobs. Replacing the value of a key is
 * not a change of the key set.
 *
 * @example
 * const keys = KeyTable.of(['acme/report']); // a fixed filter, for tests or by-hand use
 */
export class KeyTable<V> implements KeyFilter {
  private readonly map = new Map<string, V>();
  private log: Array<{ key: string; added: boolean }> = [];
  /** The version the first log entry moved away from. */
  private logBase = 0;
  private current = 0;

  static of(keys: Iterable<string>): KeyTable<true> {
    const table = new KeyTable<true>();
    for (const key of keys) table.set(key, true);
    return table;
  }

  get version(): number {
    return this.current;
  }

  get size(): number {
    return this.map.size;
  }

  has(key: string): boolean {
    return this.map.has(key);
  }

  get(key: string): V | undefined {
    return this.map.get(key);
  }

  set(key: string, value: V): void {
    const added = !this.map.has(key);
    this.map.set(key, value);
    if (added) this.record(key, true);
  }

  delete(key: string): boolean {
    const removed = this.map.delete(key);
    if (removed) this.record(key, false);
    return removed;
  }

  keys(): IterableIterator<string> {
    return this.map.keys();
  }

  values(): IterableIterator<V> {
    return this.map.values();
  }

  all(): Iterable<string> {
    return this.map.keys();
  }

  changesSince(version: number): { added: string[]; removed: string[] } | null {
    if (version === this.current) return { added: [], removed: [] };
    if (version < this.logBase || version > this.current) return null;
    // The last change of each key since `version` is what the mirror needs.
    const last = new Map<string, boolean>();
    for (let i = version - this.logBase; i < this.log.length; i++) last.set(this.log[i]!.key, this.log[i]!.added);
    const added: string[] = [];
    const removed: string[] = [];
    for (const [key, isAdded] of last) (isAdded ? added : removed).push(key);
    return { added, removed };
  }

  private record(key: string, added: boolean): void {
    this.log.push({ key, added });
    this.current++;
    if (this.log.length > MAX_LOG) {
      const drop = this.log.length - MAX_LOG / 2;
      this.log = this.log.slice(drop);
      this.logBase += drop;
    }
  }
}
