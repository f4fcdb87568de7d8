/**
 * The `onRunsChanged` pub-sub of both backends: who is told, in their own
 * microtask, that runs may have become claimable (the memory backend on its
 * own changes, the Redis backend on its channel). Delivery rules live here
 * once: unsubscribed listeners skipped, listener failures swallowed.
 */

/** Listeners told, best effort and asynchronously, that runs may have become claimable. */
export class RunsChangedNotifier {
  private readonly listeners = new Set<() => void>();
  /** A notice is queued and not told yet. */
  private pending = false;

  /** Adds `listener`; the returned function removes it. */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Forgets every listener. */
  clear(): void {
    this.listeners.clear();
  }

  /**
   * Calls every listener once in a later microtask: the notices of one turn
   * (a batch of a thousand outcomes) are told once, not once each.
   */
  notify(): void {
    if (this.pending) return;
    this.pending = true;
    queueMicrotask(() => {
      this.pending = false;
      for (const listener of [...this.listeners]) {
        if (!this.listeners.has(listener)) continue;
        try {
          listener();
        } catch {
          // Best effort by contract: a listener's failure is its own business.
        }
      }
    });
  }
}
