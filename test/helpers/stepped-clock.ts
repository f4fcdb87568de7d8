import type { Clock, TimerHandle } from '../../src/clock/clock.js';

/**
 * A local clock that can be stepped after the scheduler aligned on the
 * backend (an NTP step, a resumed VM): until the next alignment, about a
 * minute later, the aligned clock is off by the step.
 */
export class SteppedClock implements Clock {
  stepMs = 0;
  constructor(private readonly base: Clock) {}
  now(): number {
    return this.base.now() + this.stepMs;
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    return this.base.setTimeout(fn, ms);
  }
  clearTimeout(handle: TimerHandle): void {
    this.base.clearTimeout(handle);
  }
}
