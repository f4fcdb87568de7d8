/**
 * Counts runs in progress on this instance. Runs over the limit wait in
 * arrival order (they are not dropped); `cancelWaiting` turns every waiter
 * away at shutdown.
 */
export class ConcurrencyLimiter {
  private inUse = 0;
  private readonly waiters: Array<(granted: boolean) => void> = [];
  private head = 0;

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

  /** Resolves true with a permit, or false when waiting was cancelled. */
  acquire(): Promise<boolean> {
    if (this.tryAcquire()) return Promise.resolve(true);
    return new Promise((resolve) => this.waiters.push(resolve));
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
