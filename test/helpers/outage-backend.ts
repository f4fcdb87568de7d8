import type { Backend } from '../../src/backend/backend.js';
import { BackendUnavailableError } from '../../src/errors/schedkit-error.js';

/** A backend seen through a connection that can be cut: every call fails with E_BACKEND_UNAVAILABLE while down. */
export interface OutageBackend {
  readonly backend: Backend;
  down(): void;
  /**
   * Frozen, as a Redis under SIGSTOP with clients that time out: every call
   * fails at once with E_BACKEND_UNAVAILABLE, yet is kept and runs in the
   * store, in order, at `up()` — its answer lost.
   */
  freeze(): void;
  /** Back up (the calls made while frozen run first); with `store`, a different store (one that lost its data, say). */
  up(store?: Backend): Promise<void>;
}

export function outageBackend(initial: Backend): OutageBackend {
  let store = initial;
  let state: 'up' | 'down' | 'frozen' = 'up';
  const sentWhileFrozen: Array<() => Promise<unknown>> = [];
  const backend = new Proxy(initial, {
    get(_target, prop) {
      const value: unknown = Reflect.get(store, prop);
      if (typeof value !== 'function') return value;
      // Subscriptions are not calls: they survive the outage, like a reconnecting subscriber.
      if (prop === 'onRunsChanged' || prop === 'onRunCancelled') return value.bind(store);
      return (...args: unknown[]) => {
        if (state === 'up') return (value as (...a: unknown[]) => unknown).apply(store, args);
        if (state === 'frozen') sentWhileFrozen.push(async () => (value as (...a: unknown[]) => unknown).apply(store, args));
        return Promise.reject(new BackendUnavailableError(state === 'frozen' ? 'Command timed out' : 'connection refused'));
      };
    },
  });
  return {
    backend,
    down: () => (state = 'down'),
    freeze: () => (state = 'frozen'),
    up: async (next) => {
      for (const call of sentWhileFrozen.splice(0)) await call().catch(() => undefined);
      if (next !== undefined) store = next;
      state = 'up';
    },
  };
}
