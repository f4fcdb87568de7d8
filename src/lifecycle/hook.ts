/**
 * A start/stop pair appended to a `Lifecycle` by a component as it is built,
 * so hooks run in dependency order: a component's hook is appended after the
 * hooks of everything it was built from.
 */
export interface Hook {
  /** Names the hook in logs and errors (`backend:memory`, `scheduler`, `logger`). */
  name: string;
  /** Called by `Lifecycle.start`, in append order. The signal aborts at the phase or hook deadline. */
  onStart?: (signal: AbortSignal) => Promise<void> | void;
  /**
   * Called by `Lifecycle.stop`, in reverse order, only if this hook's
   * `onStart` completed (or it has none). The signal aborts at the deadline.
   */
  onStop?: (signal: AbortSignal) => Promise<void> | void;
  /** Deadline of this hook alone, in either phase, on top of the phase deadline. */
  timeoutMs?: number;
}

/** Anything that can register hooks: the `Lifecycle` itself, or a recorder in tests. */
export interface HookRegistry {
  append(hook: Hook): void;
}
