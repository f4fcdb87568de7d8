/**
 * Time values that schedules accept: durations (`'1h30m'`), instants (`Date`
 * or ISO 8601 string) and the `startAt`/`endAt` window, plus the error the
 * hand-built schedule constructors throw. Kept apart from the schedule kinds
 * so that every kind parses time the same way.
 */
import { ErrorCode, SchedkitError } from '../errors/schedkit-error.js';
import { messages, show } from '../errors/messages.js';

const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000, ms: 1 } as const;
type Unit = keyof typeof UNIT_MS;
// Descending order: '1h30m' is accepted, '30m1h' and '1m1m' are not.
const UNIT_RANK: Record<Unit, number> = { d: 5, h: 4, m: 3, s: 2, ms: 1 };
// 'ms' must come before 'm' and 's' in the alternation.
const COMPONENT = /(\d+(?:\.\d+)?)(ms|d|h|m|s)\s*/y;

/**
 * Parses a duration into milliseconds.
 *
 * - a number is milliseconds: a finite, non-negative whole number;
 * - a string is one or more `<number><unit>` parts in descending unit order,
 *   units `d`, `h`, `m`, `s`, `ms` (`'500ms'`, `'15m'`, `'1h30m'`, `'1h 30m'`,
 *   `'1.5h'`); a bare number such as `'5'` is rejected because its unit is a guess.
 *
 * `'0m'` parses to 0: callers decide whether zero is allowed.
 *
 * @throws Error (plain) with the reason; callers wrap it with their context.
 * @example parseDuration('1h30m') // 5_400_000
 */
export function parseDuration(value: number | string): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`${show(value)} is not a finite number of milliseconds`);
    if (value < 0) throw new Error(`${show(value)} is negative`);
    if (!Number.isInteger(value)) throw new Error(`${show(value)} is not a whole number of milliseconds`);
    return value;
  }
  if (typeof value !== 'string') throw new Error(`expected a number of milliseconds or a duration string, got ${show(value)}`);
  const text = value.trim();
  if (text === '') throw new Error('the duration is empty');
  if (/^[+-]?\d+(\.\d+)?$/.test(text)) {
    throw new Error(`${show(value)} has no unit: write e.g. "${text}ms" or "${text}s", or pass a number of milliseconds`);
  }
  let total = 0;
  let lastRank = Number.POSITIVE_INFINITY;
  COMPONENT.lastIndex = 0;
  while (COMPONENT.lastIndex < text.length) {
    const at = COMPONENT.lastIndex;
    const match = COMPONENT.exec(text);
    if (match === null) {
      throw new Error(`${show(value)} is not a duration: unexpected ${show(text.slice(at, at + 10))}; expected parts like "1h30m", "15m", "500ms"`);
    }
    const unit = match[2] as Unit;
    const rank = UNIT_RANK[unit];
    if (rank >= lastRank) throw new Error(`${show(value)} is not a duration: units must appear once each, largest first (d h m s ms)`);
    lastRank = rank;
    total += Number(match[1]) * UNIT_MS[unit];
  }
  if (!Number.isInteger(total)) throw new Error(`${show(value)} is not a whole number of milliseconds`);
  if (!Number.isSafeInteger(total)) throw new Error(`${show(value)} is too large`);
  return total;
}

// ISO 8601 calendar date, optionally with a time that then needs a zone:
// a local time without an offset would mean a different instant on
// instances running in different zones.
const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;

/**
 * Parses an instant given as a valid `Date` or an ISO 8601 string
 * (`'2026-03-08'` = midnight UTC, `'2026-03-08T15:00:00Z'`,
 * `'2026-03-08T15:00+01:00'`) into epoch milliseconds.
 *
 * Numbers are refused (seconds or milliseconds? the caller cannot know) and so
 * are date-times without `Z` or an offset (their meaning depends on the zone
 * of the machine, so instances would disagree).
 *
 * @throws Error (plain) with the reason.
 */
export function parseInstant(value: unknown): number {
  if (value instanceof Date) {
    const ms = value.getTime();
    if (Number.isNaN(ms)) throw new Error('the Date is invalid (Invalid Date)');
    return ms;
  }
  if (typeof value === 'number') {
    throw new Error(`numbers are not accepted as dates (${show(value)}: seconds or milliseconds?); pass a Date or an ISO 8601 string`);
  }
  if (typeof value !== 'string') throw new Error(`expected a Date or an ISO 8601 string, got ${show(value)}`);
  const m = ISO.exec(value.trim());
  if (m === null) throw new Error(`${show(value)} is not an ISO 8601 date such as "2026-03-08T15:00:00Z"`);
  const [, ys, mos, ds, hs, mis, ss, frac, zone] = m;
  const year = Number(ys);
  const month = Number(mos);
  const day = Number(ds);
  const hour = Number(hs ?? 0);
  const minute = Number(mis ?? 0);
  const second = Number(ss ?? 0);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month - 1)) throw new Error(`${show(value)} is not a calendar date`);
  if (hour > 23 || minute > 59 || second > 59) throw new Error(`${show(value)} has an invalid time of day`);
  if (hs !== undefined && zone === undefined) {
    throw new Error(`${show(value)} has no time zone: add "Z" or an offset such as "+01:00" (a local time differs between machines)`);
  }
  const ms = frac === undefined ? 0 : Math.floor(Number(`0.${frac}`) * 1000);
  let offset = 0;
  if (zone !== undefined && zone.toUpperCase() !== 'Z') {
    const digits = zone.slice(1).replace(':', '');
    const oh = Number(digits.slice(0, 2));
    const om = Number(digits.slice(2) || '0');
    if (oh > 23 || om > 59) throw new Error(`${show(value)} has an invalid offset`);
    offset = (zone[0] === '-' ? -1 : 1) * (oh * 60 + om) * 60_000;
  }
  const date = new Date(0);
  // setUTCFullYear, not Date.UTC: Date.UTC maps years 0-99 to 1900-1999.
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, ms);
  return date.getTime() - offset;
}

/** Days in a month (month 0-11) of the proleptic Gregorian calendar. */
export function daysInMonth(year: number, month: number): number {
  if (month === 1) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 3 || month === 5 || month === 8 || month === 10 ? 30 : 31;
}

/** A resolved `startAt`/`endAt` window in epoch ms; null = unbounded. Both ends inclusive. */
export interface Window {
  readonly startAt: number | null;
  readonly endAt: number | null;
}

/**
 * Validates and resolves a `startAt`/`endAt` pair.
 *
 * @param where how the caller names itself in errors, e.g. `cronSchedule()`.
 * @throws SchedkitError `E_INVALID_SCHEDULE` naming `startAt` or `endAt`.
 */
export function resolveWindow(startAt: unknown, endAt: unknown, where: string): Window {
  const start = startAt === undefined ? null : instantOrThrow(startAt, where, 'startAt');
  const end = endAt === undefined ? null : instantOrThrow(endAt, where, 'endAt');
  if (start !== null && end !== null && end <= start) {
    throw scheduleError(where, 'endAt', `${new Date(end).toISOString()} is not after startAt ${new Date(start).toISOString()}`);
  }
  return { startAt: start, endAt: end };
}

/** `parseInstant`, with a failure reported as `E_INVALID_SCHEDULE` naming `field`. */
export function instantOrThrow(value: unknown, where: string, field: string): number {
  try {
    return parseInstant(value);
  } catch (error) {
    throw scheduleError(where, field, (error as Error).message);
  }
}

/**
 * The error of a schedule built by hand (`cronSchedule()`, ...):
 * `details.field` is the option (`cron`, `tz`, `every`, `at`, `startAt`,
 * `endAt`) and `details.reason` the bare reason, so `parseSchedule` can
 * re-label it with the job and the `schedule.` prefix.
 */
export function scheduleError(where: string, field: string, reason: string, cause?: unknown): SchedkitError {
  return new SchedkitError(ErrorCode.InvalidSchedule, messages.invalidSchedule(where, field, reason), {
    cause,
    details: { field, reason },
  });
}
