import type { Clock, TimerHandle } from './clock.js';

/**
 * The local clock moved onto the backend's clock: `now()` adds the offset
 * last measured against the backend (Redis `TIME`), timers run on the local
 * clock. The scheduler plans and fires slots on this clock, so an instance
 * whose clock is seconds off still fires each slot at the slot's time as the
 * backend sees it — instead of early (and waiting for the claim to come due)
 * or late (and finding it taken). Slot claims are still checked against the
 * backend's own clock; this only makes instances agree on when to try.
 *
 * Values that instances compare (definition order, due times, history) are
 * not read from it: between two alignments a step of the local clock (NTP,
 * a resumed VM) moves it too, so they are sent as durations, delays or
 * "now" and dated by the backend.
 */
export class AlignedClock implements Clock {
  private offset = 0;

  constructor(private readonly local: Clock) {}

  /** Backend time minus local time, as last measured. */
  get offsetMs(): number {
    return this.offset;
  }

  now(): number {
    return this.local.now() + this.offset;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    return this.local.setTimeout(fn, ms);
  }

  clearTimeout(handle: TimerHandle): void {
    this.local.clearTimeout(handle);
  }

  /**
   * Measures the offset with one call of `backendTime`, taking the middle of
   * the round trip as the moment the backend read its clock. Returns it.
   */
  async align(backendTime: () => Promise<number>): Promise<number> {
    const before = this.local.now();
    const remote = await backendTime();
    const after = this.local.now();
    this.offset = Math.round(remote - (before + after) / 2);
    return this.offset;
  }
}
