/**
 * Counts runs in progress on this instance. Runs over the limit wait in
 * arrival order (they are not dropped); `cancelWaiting` turns every waiter
 * away at shutdown.
 */
export class ConcurrencyLimiter {
  private inUse = 0;
  private readonly waiters: Array<(granted: boolean) => void> = [];
  private head = 0;
  /** Told when the last permit comes back (see `whenIdle`). */
  private idleWaiters: Array<() => void> = [];
  /** Claims sent without a permit and not yet done with (see `claimWithoutPermit`). */
  private unpermitted = 0;

  constructor(
    readonly max: number,
    /** Called when a permit is released and nobody was waiting for it. */
    private readonly onFree: () => void = () => {},
  ) {}

  get available(): number {
    return this.max - this.inUse;
  }

  get running(): number {
    return this.inUse;
  }

  get waiting(): number {
    return this.waiters.length - this.head;
  }

  tryAcquire(): boolean {
    if (this.inUse >= this.max || this.waiting > 0) return false;
    this.inUse++;
    return true;
  }

  /** Resolves true with a permit, or false when waiting was cancelled. `first`: ahead of everyone waiting. */
  acquire(first = false): Promise<boolean> {
    if (this.tryAcquire()) return Promise.resolve(true);
    if (first && this.inUse < this.max) {
      this.inUse++;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      if (!first) this.waiters.push(resolve);
      else if (this.head > 0) this.waiters[--this.head] = resolve;
      else this.waiters.unshift(resolve);
    });
  }

  release(): void {
    if (this.waiting > 0) {
      // Hand the permit straight to the next waiter: inUse stays the same.
      const next = this.waiters[this.head]!;
      this.waiters[this.head++] = undefined as never;
      this.compact();
      next(true);
      return;
    }
    this.inUse = Math.max(0, this.inUse - 1);
    this.onFree();
    this.notifyIfIdle();
  }

  /**
   * Returns permits taken with `tryAcquire` but not used, without the
   * `onFree` notification (nothing new became possible).
   */
  returnUnused(count: number): void {
    for (let i = 0; i < count; i++) {
      if (this.waiting > 0) this.release();
      else this.inUse = Math.max(0, this.inUse - 1);
    }
    this.notifyIfIdle();
  }

  /**
   * Resolves once no permit is taken. A permit is taken before a claim is
   * sent and given back when the claimed run's handler settles, so at a stop
   * (after `cancelWaiting`) this covers claims still on their way to the
   * backend: a run they bring is then known to the runner and drained with
   * the others, instead of starting after the stop returned and leaving its
   * outcome to a closed backend.
   */
  whenIdle(): Promise<void> {
    if (this.inUse === 0 && this.unpermitted === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Counts a claim sent without a permit until the returned function is
   * called (once its answer was acted on), so `whenIdle` waits for it too.
   */
  claimWithoutPermit(): () => void {
    this.unpermitted++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.unpermitted--;
      this.notifyIfIdle();
    };
  }

  private notifyIfIdle(): void {
    if (this.inUse !== 0 || this.unpermitted !== 0 || this.idleWaiters.length === 0) return;
    const waiting = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiting) resolve();
  }

  cancelWaiting(): void {
    const waiting = this.waiters.slice(this.head);
    this.waiters.length = 0;
    this.head = 0;
    for (const resolve of waiting) resolve(false);
  }

  // The queue is an array with a moving head (shift() is O(n)); drop the
  // consumed prefix once it dominates.
  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.waiters.length) {
      this.waiters.splice(0, this.head);
      this.head = 0;
    }
  }
}
