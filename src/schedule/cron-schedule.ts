// CronSchedule: the public cron Schedule. It validates options, applies the
// startAt/endAt window and speaks Date; the expression text, wall-clock
// matching, zone maths and slot iteration each live in their own file
// (cron-expression, wall-cron, time-zone, cron-slots) so each can be read and
// tested as one concept.

import { type CronSlots, compileCron } from './cron-slots.js';
import { resolveWindow } from './window.js';
import type { Schedule, ScheduleDescriptor } from './schedule.js';
import { resolveTimeZone } from './time-zone.js';

/** Options of `cronSchedule()`. */
export interface CronScheduleOptions {
  /**
   * IANA time zone the expression is read in.
   * @default 'UTC' — not the process zone: every instance must compute the same slots.
   */
  tz?: string;
  /** No slot before this instant (inclusive bound). */
  startAt?: Date | string;
  /** No slot after this instant (inclusive bound). */
  endAt?: Date | string;
}

/**
 * A cron schedule in a time zone, with an optional `startAt`/`endAt` window.
 *
 * cron-parser parses the expression; iteration is done here, on wall-clock
 * time, with an explicit DST policy (cron-parser's own iteration gives
 * different answers depending on the instant it starts from around a
 * transition, which would make instances disagree about slots):
 *
 * - patterns that fire every hour of the day (hour field `*`: hourly and
 *   finer) follow elapsed time: no run in the skipped hour, two runs in the
 *   repeated hour;
 * - any other pattern (a job at a fixed time of day) runs exactly once on both
 *   transition days: a time that does not exist moves forward by the DST gap
 *   (02:30 -> 03:30), a time that happens twice runs at its first occurrence.
 *
 * `H` in an expression is resolved with the expression text as the seed, so
 * every instance picks the same value.
 */
export class CronSchedule implements Schedule {
  readonly descriptor: ScheduleDescriptor;
  /** The normalised expression. */
  readonly expression: string;
  /** The resolved IANA zone name. */
  readonly tz: string;
  private readonly slots: CronSlots;
  private readonly startAt: number | null;
  private readonly endAt: number | null;

  /**
   * @throws SchedkitError `E_INVALID_SCHEDULE` naming `cron`, `tz`, `startAt` or `endAt`.
   */
  constructor(expr: string, opts: CronScheduleOptions = {}) {
    const where = 'cronSchedule()';
    this.tz = resolveTimeZone(opts.tz, where);
    const entry = compileCron(expr, this.tz, where);
    this.expression = entry.expression;
    this.slots = entry.slots;
    const window = resolveWindow(opts.startAt, opts.endAt, where);
    this.startAt = window.startAt;
    this.endAt = window.endAt;
    this.descriptor = Object.freeze({
      kind: 'cron',
      cron: this.expression,
      tz: this.tz,
      ...(this.startAt === null ? {} : { startAt: new Date(this.startAt).toISOString() }),
      ...(this.endAt === null ? {} : { endAt: new Date(this.endAt).toISOString() }),
    });
  }

  /** The first slot strictly after `after` within the window, or null. @throws RangeError on an Invalid Date. */
  next(after: Date): Date | null {
    let x = after.getTime();
    if (Number.isNaN(x)) throw new RangeError('CronSchedule.next(): `after` is an Invalid Date');
    if (this.startAt !== null && x < this.startAt) x = this.startAt - 1;
    if (this.endAt !== null && x >= this.endAt) return null;
    const slot = this.slots.next(x);
    return slot === null || (this.endAt !== null && slot > this.endAt) ? null : new Date(slot);
  }

  /** The last slot at or before `atOrBefore` within the window, or null. @throws RangeError on an Invalid Date. */
  prev(atOrBefore: Date): Date | null {
    let x = atOrBefore.getTime();
    if (Number.isNaN(x)) throw new RangeError('CronSchedule.prev(): `atOrBefore` is an Invalid Date');
    if (this.startAt !== null && x < this.startAt) return null;
    if (this.endAt !== null && x > this.endAt) x = this.endAt;
    const slot = this.slots.prev(x);
    return slot === null || (this.startAt !== null && slot < this.startAt) ? null : new Date(slot);
  }
}

/**
 * Builds a cron schedule.
 *
 * @param expr 5 fields (minute first), 6 fields (seconds first) or an alias (`@hourly`, `@daily`, ...).
 * @throws SchedkitError `E_INVALID_SCHEDULE` naming the bad option.
 * @example cronSchedule('0 3 * * *', { tz: 'Europe/Berlin' })
 */
export function cronSchedule(expr: string, opts: CronScheduleOptions = {}): Schedule {
  return new CronSchedule(expr, opts);
}
