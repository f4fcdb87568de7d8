/**
 * A mutual-exclusion lock with a TTL, shared by every instance that uses the
 * same backend. Implementations: `MemoryLock` (one process), `RedlockLock`
 * (one Redis, or a quorum of independent masters).
 *
 * @example
 * const lease = await lock.acquire('report:daily', { ttlMs: 30_000 }); // null if held
 * await lease?.extend();
 * await lease?.release();
 */
export interface DistributedLock {
  /**
   * Takes the lock on `resource` for `ttlMs`. Returns null when it is held by
   * someone else and `waitMs` (default 0) passed without it being released.
   * Waiters are served first come, first served, woken by the release.
   * Rejects only on infrastructure failure (backend unreachable) or bad input.
   */
  acquire(resource: string, options: AcquireOptions): Promise<LockLease | null>;

  /**
   * Runs `fn` while holding the lock, refreshing it every `refreshMs`. If a
   * refresh fails, `signal` aborts at once with `LockLostError`, and `using`
   * rejects with that error once `fn` has settled (even if `fn` resolved: its
   * work was done without the lock). Rejects with `E_LOCK_NOT_ACQUIRED` when
   * the lock is held past `waitMs`. The lock is released when `fn` settles.
   */
  using<T>(resource: string, options: UsingOptions, fn: (signal: AbortSignal, fencingToken: number) => Promise<T> | T): Promise<T>;
}

/** How `acquire` takes a lock: the lease length, how long to wait for it, and a signal to give up. */
export interface AcquireOptions {
  /** How long the lock lives unless extended. Must be a positive integer. */
  ttlMs: number;
  /** How long to wait for a held lock. @default 0 (do not wait) */
  waitMs?: number;
  /** Stops waiting (resolves null) when aborted. */
  signal?: AbortSignal;
}

/** A held lock. */
export interface LockLease {
  readonly resource: string;
  /** Strictly increasing per resource across every acquisition: a fencing token. */
  readonly fencingToken: number;
  /** When the lock expires unless extended (epoch ms, by the lock's clock). */
  readonly expiresAt: number;
  /** True once released or known to be lost. */
  readonly isReleased: boolean;
  /**
   * Pushes the expiry to now + `ttlMs` (default: the acquire TTL). Rejects with
   * `LockLostError` when the lock expired, was taken over or the backend is
   * unreachable.
   */
  extend(ttlMs?: number): Promise<void>;
  /** Gives the lock up. Idempotent; never rejects for a lock that is already gone. */
  release(): Promise<void>;
}

/** `using`'s options: `acquire`'s, plus how often the lease is refreshed while the callback runs. */
export interface UsingOptions extends AcquireOptions {
  /** How often the TTL is refreshed while `fn` runs. @default ttlMs / 3 */
  refreshMs?: number;
}
