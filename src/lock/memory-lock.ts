import type { Clock, TimerHandle } from '../clock/clock.js';
import { SystemClock } from '../clock/clock.js';
import { LockLostError } from '../errors/schedkit-error.js';
import { messages } from '../errors/messages.js';
import type { AcquireOptions, DistributedLock, LockLease, UsingOptions } from './distributed-lock.js';
import { assertAcquire, assertExtendTtl } from './lock-input.js';
import { usingLock } from './using-lock.js';

/** Options of `MemoryLock`. */
export interface MemoryLockOptions {
  /** Where lock time comes from (expiry, waits). @default new SystemClock() */
  clock?: Clock;
}

/** No timer is armed longer than this; a longer wait re-arms on wake (suspended machines drift). */
const MAX_ARM_MS = 30_000;

/**
 * A `DistributedLock` for one process: the lock the in-memory backend pairs
 * with, and the reference behaviour the Redlock lock is tested against.
 *
 * Waiters queue first come, first served and are handed the lock directly by
 * the release, or by the holder's expiry (a timer armed at the expiry while
 * anyone waits). Fencing tokens come from one counter per `MemoryLock`, so
 * they strictly increase per resource across every grant without keeping a
 * counter for each resource ever locked.
 *
 * @example
 * const lock = new MemoryLock();
 * const lease = await lock.acquire('report:daily', { ttlMs: 30_000, waitMs: 5_000 });
 */
export class MemoryLock implements DistributedLock {
  private readonly clock: Clock;
  private readonly table: LockTable;

  constructor(options: MemoryLockOptions = {}) {
    this.clock = options.clock ?? new SystemClock();
    this.table = new LockTable(this.clock);
  }

  async acquire(resource: string, options: AcquireOptions): Promise<LockLease | null> {
    assertAcquire(resource, options);
    return this.table.acquire(resource, options.ttlMs, options.waitMs ?? 0, options.signal);
  }

  using<T>(
    resource: string,
    options: UsingOptions,
    fn: (signal: AbortSignal, fencingToken: number) => Promise<T> | T,
  ): Promise<T> {
    return usingLock(this, this.clock, resource, options, fn);
  }
}

interface Waiter {
  readonly ttlMs: number;
  readonly deadline: number;
  readonly resolve: (lease: LockLease | null) => void;
  timer: TimerHandle | undefined;
  readonly signal: AbortSignal | undefined;
  readonly onAbort: () => void;
}

interface ResourceState {
  holder: MemoryLease | null;
  /** FIFO: the head is served next. */
  readonly waiters: Waiter[];
  /** Armed at the holder's expiry while someone waits. */
  expiryTimer: TimerHandle | undefined;
}

/** The shared state behind one `MemoryLock` and its leases. */
class LockTable {
  private readonly resources = new Map<string, ResourceState>();
  private lastToken = 0;

  constructor(readonly clock: Clock) {}

  acquire(resource: string, ttlMs: number, waitMs: number, signal: AbortSignal | undefined): Promise<LockLease | null> {
    // Dropping an expired holder may hand over or forget the resource, so
    // look the state up again afterwards.
    const known = this.resources.get(resource);
    if (known !== undefined) this.expireHolder(resource, known);
    const state = this.stateOf(resource);
    if (state.holder === null && state.waiters.length === 0) return Promise.resolve(this.grant(resource, state, ttlMs));
    if (waitMs <= 0 || signal?.aborted === true) {
      this.cleanup(resource, state);
      return Promise.resolve(null);
    }
    return new Promise<LockLease | null>((resolve) => {
      const waiter: Waiter = {
        ttlMs,
        deadline: this.clock.now() + waitMs,
        resolve,
        timer: undefined,
        signal,
        onAbort: () => this.giveUp(resource, state, waiter),
      };
      state.waiters.push(waiter);
      // The expiry timer is armed before the first waiter's deadline timer, so
      // when both fall on one instant the lock is handed over first (the
      // deadline handler also drops an expired holder before giving up).
      if (state.expiryTimer === undefined) this.armExpiry(resource, state);
      this.armDeadline(resource, state, waiter);
      signal?.addEventListener('abort', waiter.onAbort, { once: true });
    });
  }

  isHolder(resource: string, lease: MemoryLease): boolean {
    return this.resources.get(resource)?.holder === lease;
  }

  holderOf(resource: string): MemoryLease | null {
    return this.resources.get(resource)?.holder ?? null;
  }

  /** Drops an expired holder, handing the lock to the next waiter. */
  expireHolderOf(resource: string): void {
    const state = this.resources.get(resource);
    if (state !== undefined) {
      this.expireHolder(resource, state);
      this.cleanup(resource, state);
    }
  }

  release(resource: string, lease: MemoryLease): void {
    const state = this.resources.get(resource);
    if (state === undefined || state.holder !== lease) return;
    state.holder = null;
    this.handOver(resource, state);
  }

  /** An extension moved the expiry: keep the expiry timer (if any) in step. */
  extended(resource: string): void {
    const state = this.resources.get(resource);
    if (state !== undefined) this.armExpiry(resource, state);
  }

  private stateOf(resource: string): ResourceState {
    let state = this.resources.get(resource);
    if (state === undefined) {
      state = { holder: null, waiters: [], expiryTimer: undefined };
      this.resources.set(resource, state);
    }
    return state;
  }

  private expireHolder(resource: string, state: ResourceState): void {
    if (state.holder !== null && this.clock.now() >= state.holder.expiresAt) {
      state.holder = null;
      this.handOver(resource, state);
    }
  }

  private grant(resource: string, state: ResourceState, ttlMs: number): MemoryLease {
    const lease = new MemoryLease(this, resource, ++this.lastToken, ttlMs, this.clock.now() + ttlMs);
    state.holder = lease;
    return lease;
  }

  /** The lock is free: give it to the head of the queue, or forget the resource if nobody waits. */
  private handOver(resource: string, state: ResourceState): void {
    const waiter = state.waiters.shift();
    if (waiter !== undefined) {
      this.detach(waiter);
      waiter.resolve(this.grant(resource, state, waiter.ttlMs));
    }
    this.armExpiry(resource, state);
    this.cleanup(resource, state);
  }

  private giveUp(resource: string, state: ResourceState, waiter: Waiter): void {
    const index = state.waiters.indexOf(waiter);
    if (index < 0) return;
    state.waiters.splice(index, 1);
    this.detach(waiter);
    waiter.resolve(null);
    this.armExpiry(resource, state);
    this.cleanup(resource, state);
  }

  private detach(waiter: Waiter): void {
    if (waiter.timer !== undefined) this.clock.clearTimeout(waiter.timer);
    waiter.timer = undefined;
    waiter.signal?.removeEventListener('abort', waiter.onAbort);
  }

  private armDeadline(resource: string, state: ResourceState, waiter: Waiter): void {
    const remaining = waiter.deadline - this.clock.now();
    waiter.timer = this.clock.setTimeout(
      () => {
        waiter.timer = undefined;
        if (!state.waiters.includes(waiter)) return;
        if (this.clock.now() < waiter.deadline) {
          this.armDeadline(resource, state, waiter);
          return;
        }
        // A holder that expired at this very instant hands over before the waiter gives up.
        this.expireHolder(resource, state);
        this.giveUp(resource, state, waiter);
      },
      Math.min(Math.max(0, remaining), MAX_ARM_MS),
    );
  }

  /** Keeps one timer at the holder's expiry while anyone waits; none otherwise. */
  private armExpiry(resource: string, state: ResourceState): void {
    if (state.expiryTimer !== undefined) this.clock.clearTimeout(state.expiryTimer);
    state.expiryTimer = undefined;
    const holder = state.holder;
    if (holder === null || state.waiters.length === 0) return;
    const remaining = holder.expiresAt - this.clock.now();
    state.expiryTimer = this.clock.setTimeout(
      () => {
        state.expiryTimer = undefined;
        this.expireHolder(resource, state);
        // Not expired (extended, or the timer was capped): wait again.
        if (state.expiryTimer === undefined) this.armExpiry(resource, state);
      },
      Math.min(Math.max(0, remaining), MAX_ARM_MS),
    );
  }

  private cleanup(resource: string, state: ResourceState): void {
    if (state.holder === null && state.waiters.length === 0 && this.resources.get(resource) === state) {
      if (state.expiryTimer !== undefined) this.clock.clearTimeout(state.expiryTimer);
      this.resources.delete(resource);
    }
  }
}

/** A grant of a `MemoryLock`. */
class MemoryLease implements LockLease {
  private released = false;
  private current: number;

  constructor(
    private readonly table: LockTable,
    readonly resource: string,
    readonly fencingToken: number,
    private readonly ttlMs: number,
    expiresAt: number,
  ) {
    this.current = expiresAt;
  }

  get expiresAt(): number {
    return this.current;
  }

  get isReleased(): boolean {
    return this.released || !this.table.isHolder(this.resource, this) || this.table.clock.now() >= this.current;
  }

  async extend(ttlMs: number = this.ttlMs): Promise<void> {
    assertExtendTtl(ttlMs);
    const now = this.table.clock.now();
    if (!this.released && this.table.isHolder(this.resource, this) && now < this.current) {
      this.current = now + ttlMs;
      this.table.extended(this.resource);
      return;
    }
    const why = this.lossReason();
    // Known lost from now on; an expired holder also hands the lock over.
    this.released = true;
    this.table.expireHolderOf(this.resource);
    throw new LockLostError(messages.lockLost(this.resource, why), {
      details: { resource: this.resource, fencingToken: this.fencingToken },
    });
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    this.table.release(this.resource, this);
  }

  private lossReason(): string {
    if (this.released) return messages.lockReleased();
    const holder = this.table.holderOf(this.resource);
    if (holder !== null && holder !== this) return messages.lockTakenOver(holder.fencingToken);
    return messages.lockExpired(this.current);
  }
}

