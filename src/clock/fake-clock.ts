import type { Clock, TimerHandle } from './clock.js';

interface FakeTimer {
  readonly id: number;
  readonly at: number;
  readonly fn: () => void;
}

/**
 * A clock that moves only when told to. Timers fire in due order, each with
 * `now()` equal to its due time, and the promise work they start is allowed
 * to settle before the next one fires — so a test reads like a timeline.
 *
 * @example
 * const clock = new FakeClock('2026-03-08T06:59:00Z');
 * const scheduler = new Scheduler({ clock, ... });
 * await clock.advance(60_000); // fires everything due in the next minute
 */
export class FakeClock implements Clock {
  private current: number;
  private timers: FakeTimer[] = [];
  private nextId = 1;

  constructor(start: Date | number | string = '2026-01-01T00:00:00.000Z') {
    this.current = toMillis(start);
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer: FakeTimer = { id: this.nextId++, at: this.current + Math.max(0, ms), fn };
    // Keep timers sorted by (at, id) so equal due times fire in creation order.
    let i = this.timers.length;
    while (i > 0 && this.timers[i - 1]!.at > timer.at) i--;
    this.timers.splice(i, 0, timer);
    return { id: timer.id };
  }

  clearTimeout(handle: TimerHandle): void {
    const id = (handle as { id?: number }).id;
    const index = this.timers.findIndex((t) => t.id === id);
    if (index >= 0) this.timers.splice(index, 1);
  }

  /** Number of armed timers. */
  get pendingTimers(): number {
    return this.timers.length;
  }

  /** Due time of the earliest armed timer, or null. */
  nextTimerAt(): number | null {
    return this.timers[0]?.at ?? null;
  }

  /** Moves the clock without firing anything (like a wall-clock jump). */
  set(time: Date | number | string): void {
    this.current = toMillis(time);
  }

  /** Moves the clock forward by `ms`, firing every timer that comes due, in order. */
  async advance(ms: number): Promise<void> {
    await this.advanceTo(this.current + ms);
  }

  /** Moves the clock to `time`, firing every timer due until then, in order. */
  async advanceTo(time: Date | number | string): Promise<void> {
    const target = toMillis(time);
    await settle();
    for (let fired = 0; ; fired++) {
      if (fired > 1_000_000) throw new Error('FakeClock.advanceTo: more than 1,000,000 timers fired; a timer loop?');
      const next = this.timers[0];
      if (next === undefined || next.at > target) break;
      this.timers.shift();
      if (next.at > this.current) this.current = next.at;
      next.fn();
      // Three macrotask turns between timers: a promise chain the timer
      // started drains in the first, and the scheduler's batched backend
      // calls (sent at the end of a turn, see CallBatcher) take one turn
      // each: a claim, then the outcome of the run it started.
      await settle(3);
    }
    if (target > this.current) this.current = target;
    await settle();
  }

  /** Fires the earliest timer (moving the clock to it); returns false when none is armed. */
  async runNext(): Promise<boolean> {
    const next = this.timers[0];
    if (next === undefined) return false;
    await this.advanceTo(Math.max(next.at, this.current));
    return true;
  }
}

/**
 * Lets pending promise callbacks run: resolves after the microtask queue has
 * drained and one macrotask turn has passed, a few times over.
 */
export async function settle(rounds = 3): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

function toMillis(time: Date | number | string): number {
  const ms = time instanceof Date ? time.getTime() : typeof time === 'number' ? time : Date.parse(time);
  if (!Number.isFinite(ms)) throw new TypeError(`FakeClock: not a valid time: ${String(time)}`);
  return ms;
}
