import { instantOrThrow } from './window.js';
import type { SlotCounter } from './misfire.js';
import type { Schedule, ScheduleDescriptor } from './schedule.js';

/** A single slot at a fixed instant. After it, the job is `completed`. */
export class OnceSchedule implements Schedule, SlotCounter {
  readonly descriptor: ScheduleDescriptor;
  /** The slot (epoch ms). */
  readonly at: number;

  /**
   * @param at a valid `Date` or an ISO 8601 string with a zone (`'2026-03-08T15:00:00Z'`).
   * @throws SchedkitError `E_INVALID_SCHEDULE` naming `at`.
   */
  constructor(at: Date | string) {
    this.at = instantOrThrow(at, 'onceSchedule()', 'at');
    this.descriptor = Object.freeze({ kind: 'once', at: new Date(this.at).toISOString() });
  }

  /** The first slot strictly after `after`, or null. */
  next(after: Date): Date | null {
    return this.at > after.getTime() ? new Date(this.at) : null;
  }

  /** The last slot at or before `atOrBefore`, or null. */
  prev(atOrBefore: Date): Date | null {
    return this.at <= atOrBefore.getTime() ? new Date(this.at) : null;
  }

  /** 1 when the slot lies in (after, before), else 0. */
  countSlots(after: number, before: number, cap: number): number {
    return this.at > after && this.at < before && cap > 0 ? 1 : 0;
  }
}

/**
 * Builds a one-off schedule.
 *
 * @throws SchedkitError `E_INVALID_SCHEDULE` naming `at` (not a Date, an Invalid Date, a number, a bad ISO string).
 * @example onceSchedule('2026-03-08T15:00:00Z')
 */
export function onceSchedule(at: Date | string): Schedule {
  return new OnceSchedule(at);
}
