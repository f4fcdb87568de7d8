import { CronExpressionParser, type CronFieldCollection } from 'cron-parser';
import { show } from '../errors/messages.js';
import { daysInMonth, resolveWindow, scheduleError } from './duration.js';
import type { Schedule, ScheduleDescriptor } from './schedule.js';

/** The aliases cron-parser understands (matched case-insensitively). */
export const CRON_ALIASES = ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@hourly', '@minutely', '@secondly', '@weekdays', '@weekends'] as const;

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
 * Validates a cron expression and returns it normalised (single spaces,
 * lower-case alias). cron-parser alone is too lenient: it reads `''` as every
 * minute and pads 1-4 fields with wildcards.
 *
 * @throws Error (plain) with the reason.
 */
export function normaliseCron(expr: unknown): string {
  if (typeof expr !== 'string') throw new Error(`expected a cron expression string, got ${show(expr)}`);
  const parts = expr.trim().split(/\s+/);
  const first = parts[0] ?? '';
  if (first === '') throw new Error('the cron expression is empty');
  if (first.startsWith('@')) {
    const alias = first.toLowerCase();
    if (parts.length !== 1 || !(CRON_ALIASES as readonly string[]).includes(alias)) {
      throw new Error(`unknown alias ${show(expr.trim())}; expected one of ${CRON_ALIASES.join(' ')}`);
    }
    return alias;
  }
  if (parts.length !== 5 && parts.length !== 6) {
    throw new Error(`expected 5 fields (minute hour day-of-month month day-of-week) or 6 (seconds first), got ${parts.length} in ${show(expr)}`);
  }
  return parts.join(' ');
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
    const entry = compile(expr, this.tz, where);
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

// ---------------------------------------------------------------------------
// Shared compiled expressions. 1M jobs may share one expression: they share
// one CronSlots (and its memo of the last answer). Bounded, least recently
// used first out; an evicted entry stays alive in the schedules holding it.

const MAX_CACHED = 1_000;
const compiled = new Map<string, { expression: string; slots: CronSlots }>();
const zoneNames = new Map<string, string>();

function compile(expr: unknown, tz: string, where: string): { expression: string; slots: CronSlots } {
  if (typeof expr !== 'string') throw scheduleError(where, 'cron', `expected a cron expression string, got ${show(expr)}`);
  const key = `${tz}\u0000${expr}`;
  let entry = compiled.get(key);
  if (entry !== undefined) {
    compiled.delete(key); // refresh its LRU position
  } else {
    let expression: string;
    let fields: CronFieldCollection;
    try {
      expression = normaliseCron(expr);
      fields = CronExpressionParser.parse(expression, { tz: 'UTC', currentDate: 0, hashSeed: expression }).fields;
    } catch (error) {
      throw scheduleError(where, 'cron', (error as Error).message, error);
    }
    const zone = tz === 'UTC' ? null : zoneFor(tz);
    entry = { expression, slots: new CronSlots(new WallCron(fields), zone, fields.hour.values.length === 24) };
    if (compiled.size >= MAX_CACHED) compiled.delete(compiled.keys().next().value as string);
  }
  compiled.set(key, entry);
  return entry;
}

/** @default 'UTC'. Validated with Intl: cron-parser would only fail later, on `next()`. */
function resolveTimeZone(tz: unknown, where: string): string {
  if (tz === undefined) return 'UTC';
  const known = typeof tz === 'string' ? zoneNames.get(tz) : undefined;
  if (known !== undefined) return known;
  if (typeof tz !== 'string' || tz.trim() === '') throw scheduleError(where, 'tz', `expected an IANA time zone name such as "Europe/Berlin", got ${show(tz)}`);
  let resolved: string;
  try {
    resolved = new Intl.DateTimeFormat('en', { timeZone: tz }).resolvedOptions().timeZone;
  } catch (error) {
    throw scheduleError(where, 'tz', `unknown time zone ${show(tz)}; expected an IANA name such as "Europe/Berlin"`, error);
  }
  if (resolved === 'Etc/UTC' || resolved === 'Etc/GMT' || resolved === 'GMT') resolved = 'UTC';
  if (zoneNames.size >= MAX_CACHED) zoneNames.clear();
  zoneNames.set(tz, resolved);
  return resolved;
}

// ---------------------------------------------------------------------------
// CronSlots: the slots of one (expression, zone) as epoch ms.
//
// The zone's offset is constant between transitions, so time is cut into
// segments [t_k, t_k+1) of one offset o_k. The slots of a segment are its wall
// times matched by the expression (instant = wall - o_k), except that for a
// fixed-time pattern a segment that starts with a fall-back drops the repeated
// wall times (they ran before the change) and one that starts with a
// spring-forward adds the skipped wall times, moved forward by the gap.
//
// Why not cron-parser's own iteration: besides the DST answers depending on
// the starting point, it is slow. Measured side by side (2 cores, Node 20,
// next() from the previous result, Europe/Berlin): parse({ currentDate })+next()
// 8.8k/s for '*/5 * * * *' and 3.9k/s for '0 3 * * *'; a kept expression with
// reset(date)+next() 11.7k/s and 5.3k/s (so reset beats re-parsing, and UTC
// beats a zone 4x); this integer iteration about 2M/s for both. The first use
// of a zone costs a few ms (its transition tables for three years).

// Slots are searched in years 1000-9999 only: far enough for any schedule,
// and inside what Date and Intl can represent.
const MIN_INSTANT = Date.UTC(1000, 0, 1);
const MAX_INSTANT = Date.UTC(9999, 11, 31, 23, 59, 59);

class CronSlots {
  // next(x) = nextTo for nextFrom <= x < nextTo (no slot in between);
  // prev(x) = prevFrom for prevFrom <= x <= prevTo.
  private nextFrom = Number.NaN;
  private nextTo = Number.NaN;
  private prevFrom = Number.NaN;
  private prevTo = Number.NaN;

  constructor(
    private readonly wall: WallCron,
    private readonly zone: Zone | null,
    private readonly elapsed: boolean,
  ) {}

  /** First slot strictly after `x`. */
  next(x: number): number | null {
    if (x >= this.nextFrom && x < this.nextTo) return this.nextTo;
    if (x >= MAX_INSTANT) return null;
    let slot = this.zone === null ? finite(this.wall.atOrAfter(Math.max(x, MIN_INSTANT) + 1)) : this.nextZoned(Math.max(x, MIN_INSTANT) + 1, this.zone);
    if (slot !== null && slot > MAX_INSTANT) slot = null;
    if (slot !== null) {
      this.nextFrom = x;
      this.nextTo = slot;
    }
    return slot;
  }

  /** Last slot at or before `x`. */
  prev(x: number): number | null {
    if (x >= this.prevFrom && x <= this.prevTo) return this.prevFrom;
    if (x < MIN_INSTANT) return null;
    let slot = this.zone === null ? finite(this.wall.atOrBefore(Math.min(x, MAX_INSTANT))) : this.prevZoned(Math.min(x, MAX_INSTANT), this.zone);
    if (slot !== null && slot < MIN_INSTANT) slot = null;
    if (slot !== null) {
      this.prevFrom = slot;
      this.prevTo = x;
    }
    return slot;
  }

  /** First slot at or after `a`, walking segment by segment (bounded: 100 years of transitions). */
  private nextZoned(a: number, zone: Zone): number | null {
    for (let guard = 0; guard < 200; guard++) {
      const { offset: o, start: t, end } = zone.segment(a);
      let best = Number.POSITIVE_INFINITY;
      let lo = a + o;
      if (t !== null && !this.elapsed && t.before > t.after) lo = Math.max(lo, t.at + t.before);
      const w = this.wall.atOrAfter(lo);
      if (w < end + o) best = w - o;
      if (t !== null && !this.elapsed && t.after > t.before) {
        const gapLo = Math.max(a + t.before, t.at + t.before);
        const gapHi = t.at + t.after;
        const g = gapLo < gapHi ? this.wall.atOrAfter(gapLo) : Number.POSITIVE_INFINITY;
        if (g < gapHi) best = Math.min(best, g - t.before);
      }
      if (best !== Number.POSITIVE_INFINITY) return best;
      if (end === Number.POSITIVE_INFINITY || w === Number.POSITIVE_INFINITY) return null;
      a = end;
    }
    return null;
  }

  /** Last slot at or before `b`, walking segments backwards. */
  private prevZoned(b: number, zone: Zone): number | null {
    for (let guard = 0; guard < 200; guard++) {
      const { offset: o, start: t } = zone.segment(b);
      let best = Number.NEGATIVE_INFINITY;
      let lo = t === null ? Number.NEGATIVE_INFINITY : t.at + o;
      if (t !== null && !this.elapsed && t.before > t.after) lo = t.at + t.before;
      const w = this.wall.atOrBefore(b + o);
      if (w >= lo) best = w - o;
      if (t !== null && !this.elapsed && t.after > t.before) {
        const gapLo = t.at + t.before;
        const gapHi = Math.min(b + t.before, t.at + t.after - 1);
        const g = gapHi >= gapLo ? this.wall.atOrBefore(gapHi) : Number.NEGATIVE_INFINITY;
        if (g >= gapLo) best = Math.max(best, g - t.before);
      }
      if (best !== Number.NEGATIVE_INFINITY) return best;
      if (t === null || w === Number.NEGATIVE_INFINITY) return null;
      b = t.at - 1;
    }
    return null;
  }
}

function finite(value: number): number | null {
  return Number.isFinite(value) ? value : null;
}

// ---------------------------------------------------------------------------
// WallCron: the expression matched against wall-clock time, written as ms
// "as if UTC". Mirrors cron-parser's matching rules (month, then day with the
// Vixie OR of day-of-month and day-of-week, L, nL, n#k, then h/m/s) on
// integers; cron.test.ts checks it against cron-parser on random expressions.

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

class WallCron {
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

// ---------------------------------------------------------------------------
// Zone: offset transitions of an IANA zone, found with Intl (sampled daily,
// then bisected to the second) and cached per year.

interface Transition {
  /** First instant (ms) with the new offset. */
  readonly at: number;
  /** Offset (ms, wall - UTC) before and after. */
  readonly before: number;
  readonly after: number;
}

interface Segment {
  readonly offset: number;
  /** The transition that opened the segment, if one happened in this or the previous year. */
  readonly start: Transition | null;
  /** The next transition (within two years), else +Infinity. */
  readonly end: number;
}

const DAY = 86_400_000;
// Keyed by resolved IANA names only, so bounded by the zone database (~600).
const zones = new Map<string, Zone>();

function zoneFor(tz: string): Zone {
  let zone = zones.get(tz);
  if (zone === undefined) {
    zone = new Zone(tz);
    zones.set(tz, zone);
  }
  return zone;
}

class Zone {
  private readonly format: Intl.DateTimeFormat;
  private readonly years = new Map<number, { startOffset: number; list: Transition[] }>();

  constructor(tz: string) {
    this.format = new Intl.DateTimeFormat('en-US', {
      timeZone: tz, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
    });
  }

  segment(x: number): Segment {
    const year = new Date(x).getUTCFullYear();
    let start: Transition | null = null;
    for (const y of [year, year - 1]) {
      const list = this.year(y).list;
      for (let i = list.length - 1; i >= 0 && start === null; i--) if ((list[i] as Transition).at <= x) start = list[i] as Transition;
      if (start !== null) break;
    }
    let end = Number.POSITIVE_INFINITY;
    for (const y of [year, year + 1]) {
      const found = this.year(y).list.find((tr) => tr.at > x);
      if (found !== undefined) { end = found.at; break; }
    }
    return { offset: start === null ? this.year(year).startOffset : start.after, start, end };
  }

  private year(y: number): { startOffset: number; list: Transition[] } {
    let entry = this.years.get(y);
    if (entry !== undefined) return entry;
    const from = Date.UTC(y, 0, 1);
    const to = Date.UTC(y + 1, 0, 1);
    const list: Transition[] = [];
    const startOffset = this.offsetAt(from);
    let prevAt = from, prevOffset = startOffset;
    for (let t = from + DAY; prevAt < to; t = Math.min(t + DAY, to)) {
      const offset = this.offsetAt(t);
      if (offset !== prevOffset) {
        // Bisect (prevAt, t] in whole seconds for the first instant with the new offset.
        let lo = prevAt, hi = t;
        while (hi - lo > 1000) {
          const mid = lo + Math.floor((hi - lo) / 2000) * 1000;
          if (this.offsetAt(mid) === prevOffset) lo = mid; else hi = mid;
        }
        list.push({ at: hi, before: prevOffset, after: offset });
      }
      prevAt = t;
      prevOffset = offset;
    }
    entry = { startOffset, list };
    this.years.set(y, entry);
    return entry;
  }

  private offsetAt(t: number): number {
    let y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
    for (const part of this.format.formatToParts(t)) {
      const v = Number(part.value);
      switch (part.type) {
        case 'year': y = v; break;
        case 'month': mo = v; break;
        case 'day': d = v; break;
        case 'hour': h = v % 24; break;
        case 'minute': mi = v; break;
        case 'second': s = v; break;
        default: break;
      }
    }
    return Date.UTC(y, mo - 1, d, h, mi, s) - Math.floor(t / 1000) * 1000;
  }
}
