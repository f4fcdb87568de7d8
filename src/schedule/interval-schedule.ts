import { show } from '../errors/messages.js';
import { parseDuration } from './duration.js';
import { scheduleError } from './schedule-error.js';
import { instantOrThrow, resolveWindow } from './window.js';
import type { SlotCounter } from './misfire.js';
import type { Schedule, ScheduleDescriptor } from './schedule.js';

/** Options of `intervalSchedule()`. */
export interface IntervalScheduleOptions {
  /** No slot before this instant (inclusive). Also the default anchor. */
  startAt?: Date | string;
  /** No slot after this instant (inclusive). */
  endAt?: Date | string;
  /**
   * The instant slots are aligned to: slots are `anchor + k * every` for every integer k.
   * @default startAt, else the epoch (1970-01-01T00:00:00Z)
   */
  anchor?: Date | string;
}

// Largest instant a Date can hold.
const MAX_DATE_MS = 8.64e15;

/**
 * Slots every `everyMs` milliseconds, aligned to a fixed anchor so that every
 * instance computes the same slots whatever its start time. Integer
 * arithmetic on epoch ms: no drift, however long it runs.
 */
export class IntervalSchedule implements Schedule, SlotCounter {
  readonly descriptor: ScheduleDescriptor;
  /** The period in milliseconds (a positive integer). */
  readonly everyMs: number;
  /** The alignment instant (epoch ms). */
  readonly anchor: number;
  private readonly startAt: number | null;
  private readonly endAt: number | null;

  /**
   * @param every milliseconds, or a duration such as `'15m'` (see `parseDuration`).
   * @throws SchedkitError `E_INVALID_SCHEDULE` naming `every`, `anchor`, `startAt` or `endAt`.
   */
  constructor(every: number | string, opts: IntervalScheduleOptions = {}) {
    const where = 'intervalSchedule()';
    let everyMs: number;
    try {
      everyMs = parseDuration(every);
    } catch (error) {
      throw scheduleError(where, 'every', (error as Error).message, error);
    }
    if (everyMs <= 0) throw scheduleError(where, 'every', `must be greater than 0, got ${show(every)}`);
    const window = resolveWindow(opts.startAt, opts.endAt, where);
    this.everyMs = everyMs;
    this.startAt = window.startAt;
    this.endAt = window.endAt;
    this.anchor = opts.anchor === undefined ? (window.startAt ?? 0) : instantOrThrow(opts.anchor, where, 'anchor');
    this.descriptor = Object.freeze({
      kind: 'interval',
      everyMs,
      anchor: new Date(this.anchor).toISOString(),
      ...(this.startAt === null ? {} : { startAt: new Date(this.startAt).toISOString() }),
      ...(this.endAt === null ? {} : { endAt: new Date(this.endAt).toISOString() }),
    });
  }

  /** The first slot strictly after `after`, or null. */
  next(after: Date): Date | null {
    const slot = this.nextMs(after.getTime());
    return slot === null ? null : new Date(slot);
  }

  /** The last slot at or before `atOrBefore`, or null. */
  prev(atOrBefore: Date): Date | null {
    const slot = this.prevMs(atOrBefore.getTime());
    return slot === null ? null : new Date(slot);
  }

  /** Number of slots s with `after < s < before`, at most `cap`: computed, not walked. */
  countSlots(after: number, before: number, cap: number): number {
    const first = this.nextMs(after);
    const last = this.prevMs(before - 1);
    if (first === null || last === null || last < first) return 0;
    return Math.min(cap, (last - first) / this.everyMs + 1);
  }

  private nextMs(after: number): number | null {
    if (Number.isNaN(after)) throw new RangeError('IntervalSchedule.next(): `after` is an Invalid Date');
    const x = this.startAt !== null && after < this.startAt ? this.startAt - 1 : after;
    const slot = this.alignDown(x) + this.everyMs;
    return (this.endAt !== null && slot > this.endAt) || slot > MAX_DATE_MS ? null : slot;
  }

  private prevMs(atOrBefore: number): number | null {
    if (Number.isNaN(atOrBefore)) throw new RangeError('IntervalSchedule.prev(): `atOrBefore` is an Invalid Date');
    const x = this.endAt !== null && atOrBefore > this.endAt ? this.endAt : atOrBefore;
    const slot = this.alignDown(x);
    return (this.startAt !== null && slot < this.startAt) || slot < -MAX_DATE_MS ? null : slot;
  }

  /** The last slot at or before `x`. `%` on integers is exact in floating point; a quotient would not be. */
  private alignDown(x: number): number {
    const offset = (((x - this.anchor) % this.everyMs) + this.everyMs) % this.everyMs;
    return x - offset;
  }
}

/**
 * Builds an interval schedule: slots at `anchor + k * every`.
 *
 * @param every milliseconds (a positive whole number) or a duration string (`'500ms'`, `'15m'`, `'1h30m'`).
 * @throws SchedkitError `E_INVALID_SCHEDULE` naming the bad option.
 * @example intervalSchedule('15m') // :00, :15, :30, :45 of every hour (UTC-aligned to the epoch)
 */
export function intervalSchedule(every: number | string, opts: IntervalScheduleOptions = {}): Schedule {
  return new IntervalSchedule(every, opts);
}
