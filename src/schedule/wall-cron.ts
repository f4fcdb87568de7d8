// WallCron: the expression matched against wall-clock time, written as ms
// "as if UTC". Mirrors cron-parser's matching rules (month, then day with the
// Vixie OR of day-of-month and day-of-week, L, nL, n#k, then h/m/s) on
// integers; cron.test.ts checks it against cron-parser on random expressions.
// Separate because it is the calendar search alone, with no notion of time
// zones: offsets and DST are applied on top of it by CronSlots.

import type { CronFieldCollection } from 'cron-parser';
import { daysInMonth } from './instant.js';

const SEARCH_YEARS = 100;

interface FieldTable {
  /** up[v]: smallest allowed value >= v, or -1. */
  readonly up: Int8Array;
  /** down[v]: largest allowed value <= v, or -1. */
  readonly down: Int8Array;
}

function table(values: readonly (number | string)[], max: number): FieldTable {
  const allowed = new Set(values.filter((v): v is number => typeof v === 'number'));
  const up = new Int8Array(max + 2).fill(-1);
  const down = new Int8Array(max + 2).fill(-1);
  for (let v = max, next = -1; v >= 0; v--) up[v] = next = allowed.has(v) ? v : next;
  for (let v = 0, last = -1; v <= max + 1; v++) down[v] = last = allowed.has(v) ? v : last;
  return { up, down };
}

/** A cron expression's fields as lookup tables, searched forwards and backwards on wall time. */
export class WallCron {
  private readonly second: FieldTable;
  private readonly minute: FieldTable;
  private readonly hour: FieldTable;
  private readonly month: FieldTable;
  private readonly dom: Uint8Array;
  private readonly dow: Uint8Array;
  private readonly dowLast: Uint8Array;
  private readonly domLast: boolean;
  private readonly domWild: boolean;
  private readonly dowWild: boolean;
  private readonly nth: number;

  constructor(f: CronFieldCollection) {
    this.second = table(f.second.values, 59);
    this.minute = table(f.minute.values, 59);
    this.hour = table(f.hour.values, 23);
    this.month = table(f.month.values, 12);
    this.dom = new Uint8Array(32);
    for (const v of f.dayOfMonth.values) if (typeof v === 'number') this.dom[v] = 1;
    this.dow = new Uint8Array(8);
    this.dowLast = new Uint8Array(7);
    // As cron-parser: a plain 7 never matches (getDay() is 0-6; '7' alone is stored as 0);
    // 'nL' means the last weekday n of the month.
    for (const v of f.dayOfWeek.values) {
      if (typeof v === 'number') this.dow[v] = 1;
      else this.dowLast[Number.parseInt(String(v).charAt(0), 10) % 7] = 1;
    }
    this.domLast = f.dayOfMonth.hasLastChar;
    this.domWild = f.dayOfMonth.isWildcard;
    this.dowWild = f.dayOfWeek.isWildcard;
    this.nth = f.dayOfWeek.nthDay;
  }

  private dayMatches(y: number, m: number, d: number): boolean {
    const dim = daysInMonth(y, m);
    const weekday = (((Math.floor(Date.UTC(y, m, d) / 86_400_000) + 4) % 7) + 7) % 7;
    const domHit = this.dom[d] === 1 || (this.domLast && d === dim);
    const dowHit =
      (this.dow[weekday] === 1 && (this.nth <= 0 || Math.ceil(d / 7) === this.nth)) || (this.dowLast[weekday] === 1 && d > dim - 7);
    if (!this.domWild && !this.dowWild) return domHit || dowHit;
    if (this.dowWild) return domHit;
    return this.domWild && dowHit;
  }

  /** Smallest matching wall time >= w (whole seconds), or +Infinity. */
  atOrAfter(w: number): number {
    const d0 = new Date(Math.ceil(w / 1000) * 1000);
    let y = d0.getUTCFullYear(), mo = d0.getUTCMonth(), d = d0.getUTCDate();
    let h = d0.getUTCHours(), mi = d0.getUTCMinutes(), s = d0.getUTCSeconds();
    const maxYear = y + SEARCH_YEARS;
    // Each pass either returns or moves forward; resets to 0 are fixed up by the `up` tables.
    for (let guard = 0; guard < 100_000 && y <= maxYear; guard++) {
      const allowedMonth = this.month.up[mo + 1] ?? -1;
      if (allowedMonth < 0) { y++; mo = 0; d = 1; h = mi = s = 0; continue; }
      if (allowedMonth !== mo + 1) { mo = allowedMonth - 1; d = 1; h = mi = s = 0; continue; }
      if (d > daysInMonth(y, mo)) { mo++; d = 1; h = mi = s = 0; if (mo > 11) { mo = 0; y++; } continue; }
      if (!this.dayMatches(y, mo, d)) { d++; h = mi = s = 0; continue; }
      const hh = this.hour.up[h] ?? -1;
      if (hh < 0) { d++; h = mi = s = 0; continue; }
      if (hh !== h) { h = hh; mi = s = 0; }
      const mm = this.minute.up[mi] ?? -1;
      if (mm < 0) { h++; mi = s = 0; if (h > 23) { d++; h = 0; } continue; }
      if (mm !== mi) { mi = mm; s = 0; }
      const ss = this.second.up[s] ?? -1;
      if (ss < 0) { mi++; s = 0; if (mi > 59) { h++; mi = 0; if (h > 23) { d++; h = 0; } } continue; }
      return Date.UTC(y, mo, d, h, mi, ss);
    }
    return Number.POSITIVE_INFINITY;
  }

  /** Largest matching wall time <= w (whole seconds), or -Infinity. */
  atOrBefore(w: number): number {
    const d0 = new Date(Math.floor(w / 1000) * 1000);
    let y = d0.getUTCFullYear(), mo = d0.getUTCMonth(), d = d0.getUTCDate();
    let h = d0.getUTCHours(), mi = d0.getUTCMinutes(), s = d0.getUTCSeconds();
    const minYear = y - SEARCH_YEARS;
    for (let guard = 0; guard < 100_000 && y >= minYear; guard++) {
      const allowedMonth = this.month.down[mo + 1] ?? -1;
      if (allowedMonth < 1) { y--; mo = 11; d = 31; h = 23; mi = s = 59; continue; }
      if (allowedMonth !== mo + 1) { mo = allowedMonth - 1; d = 31; h = 23; mi = s = 59; continue; }
      if (d < 1) { mo--; d = 31; h = 23; mi = s = 59; if (mo < 0) { mo = 11; y--; } continue; }
      d = Math.min(d, daysInMonth(y, mo));
      if (!this.dayMatches(y, mo, d)) { d--; h = 23; mi = s = 59; continue; }
      const hh = this.hour.down[h] ?? -1;
      if (hh < 0) { d--; h = 23; mi = s = 59; continue; }
      if (hh !== h) { h = hh; mi = s = 59; }
      const mm = this.minute.down[mi] ?? -1;
      if (mm < 0) { h--; mi = s = 59; if (h < 0) { d--; h = 23; } continue; }
      if (mm !== mi) { mi = mm; s = 59; }
      const ss = this.second.down[s] ?? -1;
      if (ss < 0) { mi--; s = 59; if (mi < 0) { h--; mi = 59; if (h < 0) { d--; h = 23; } } continue; }
      return Date.UTC(y, mo, d, h, mi, ss);
    }
    return Number.NEGATIVE_INFINITY;
  }
}
