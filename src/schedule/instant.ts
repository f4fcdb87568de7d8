/**
 * Instants as schedules accept them (a `Date` or an ISO 8601 string with a
 * zone), and the calendar arithmetic that checks them.
 */
import { show } from '../errors/messages.js';

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
