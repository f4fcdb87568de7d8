// Time-zone maths for cron slots: validating zone names and finding a zone's
// offset transitions (DST) with Intl. Separate because it knows nothing of
// cron: it answers "which offset holds at this instant, and when does it
// change", which CronSlots combines with wall-clock matching.

import { show } from '../errors/messages.js';
import { scheduleError } from './schedule-error.js';

/** Zone names already resolved, bounded like the compiled-expression cache. */
const MAX_CACHED = 1_000;
const zoneNames = new Map<string, string>();

/** @default 'UTC'. Validated with Intl: cron-parser would only fail later, on `next()`. */
export function resolveTimeZone(tz: unknown, where: string): string {
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
// Zone: offset transitions of an IANA zone, found with Intl (sampled daily,
// then bisected to the second) and cached per year.

export interface Transition {
  /** First instant (ms) with the new offset. */
  readonly at: number;
  /** Offset (ms, wall - UTC) before and after. */
  readonly before: number;
  readonly after: number;
}

export interface Segment {
  readonly offset: number;
  /** The transition that opened the segment, if one happened in this or the previous year. */
  readonly start: Transition | null;
  /** The next transition (within two years), else +Infinity. */
  readonly end: number;
}

const DAY = 86_400_000;
// Keyed by resolved IANA names only, so bounded by the zone database (~600).
const zones = new Map<string, Zone>();

/** The one Zone object of a resolved IANA name. */
export function zoneFor(tz: string): Zone {
  let zone = zones.get(tz);
  if (zone === undefined) {
    zone = new Zone(tz);
    zones.set(tz, zone);
  }
  return zone;
}

/** Offset transitions of one IANA zone, computed per year on first use. */
export class Zone {
  private readonly format: Intl.DateTimeFormat;
  private readonly years = new Map<number, { startOffset: number; list: Transition[] }>();

  constructor(tz: string) {
    this.format = new Intl.DateTimeFormat('en-US', {
      timeZone: tz, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
    });
  }

  /** The segment of constant offset that contains instant `x`. */
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
