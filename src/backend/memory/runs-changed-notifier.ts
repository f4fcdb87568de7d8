/**
 * The `onRunsChanged` pub-sub of the memory backend. Separate because its
 * delivery rules (one microtask per listener, unsubscribed listeners skipped,
 * listener failures swallowed) have nothing to do with how runs are stored.
 */

/** Listeners told, best effort and asynchronously, that runs may have become claimable. */
export class RunsChangedNotifier {
  private readonly listeners = new Set<() => void>();

  /** Adds `listener`; the returned function removes it. */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Calls every listener in its own microtask. */
  notify(): void {
    for (const listener of this.listeners) {
      queueMicrotask(() => {
        if (!this.listeners.has(listener)) return;
        try {
          listener();
        } catch {
          // Best effort by contract: a listener's failure is its own business.
        }
      });
    }
  }
}
