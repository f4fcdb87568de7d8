/**
 * The `onRunCancelled` listeners of a backend: told (in their own microtask,
 * as `RunsChangedNotifier` tells its listeners) when `cancelRun` asks for a
 * running run to be aborted. The memory backend tells them directly (one
 * process holds every instance); the PostgreSQL backend when its notice
 * arrives on the run-cancelled channel.
 */
import type { CancelledRunRef } from './backend.js';

/** Listeners of aborts asked by `cancelRun`; failures are swallowed. */
export class CancelledRunsNotifier {
  private readonly listeners = new Set<(run: CancelledRunRef) => void>();

  /** Adds `listener`; the returned function removes it. */
  subscribe(listener: (run: CancelledRunRef) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Forgets every listener. */
  clear(): void {
    this.listeners.clear();
  }

  /** Calls every listener with its own copy of `run`, each in its own microtask. */
  notify(run: CancelledRunRef): void {
    for (const listener of this.listeners) {
      queueMicrotask(() => {
        if (!this.listeners.has(listener)) return;
        try {
          listener({ key: run.key, id: run.id });
        } catch {
          // Best effort by contract: heartbeat answers `cancel` too.
        }
      });
    }
  }
}
