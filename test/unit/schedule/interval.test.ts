import { describe, expect, it } from 'vitest';
import { SchedkitError } from '../../../src/errors/schedkit-error.js';
import { parseDuration } from '../../../src/schedule/duration.js';
import { IntervalSchedule, intervalSchedule } from '../../../src/schedule/interval-schedule.js';

const at = (iso: string): Date => new Date(iso);
const iso = (d: Date | null): string | null => (d === null ? null : d.toISOString());

describe('parseDuration', () => {
  it.each([
    [500, 500],
    [0, 0],
    ['500ms', 500],
    ['10s', 10_000],
    ['15m', 900_000],
    ['2h', 7_200_000],
    ['2d', 172_800_000],
    ['1h30m', 5_400_000],
    ['1d2h3m4s5ms', 93_784_005],
    [' 1h 30m ', 5_400_000],
    ['1.5h', 5_400_000],
    ['0m', 0],
  ])('%j is %d ms', (input, ms) => {
    expect(parseDuration(input)).toBe(ms);
  });

  it.each([
    ['', /empty/],
    [' ', /empty/],
    ['5', /no unit/],
    ['-1m', /not a duration/],
    ['1.5.2m', /not a duration/],
    ['30m1h', /largest first/],
    ['1m1m', /largest first/],
    ['1h30', /not a duration/],
    ['abc', /not a duration/],
    ['10M', /not a duration/],
    ['1.5ms', /whole number/],
    [-1, /negative/],
    [1.5, /whole number/],
    [Number.NaN, /finite/],
    [Number.POSITIVE_INFINITY, /finite/],
    ['999999999999d', /too large/],
  ])('rejects %j with a plain Error', (input, why) => {
    expect(() => parseDuration(input)).toThrowError(why);
    try {
      parseDuration(input);
    } catch (error) {
      expect(SchedkitError.is(error)).toBe(false);
    }
  });
});

describe('intervalSchedule', () => {
  it('aligns slots to the epoch by default', () => {
    const s = intervalSchedule(15 * 60_000);
    expect(iso(s.next(at('2026-01-07T10:07:13.456Z')))).toBe('2026-01-07T10:15:00.000Z');
    expect(iso(s.prev(at('2026-01-07T10:07:13.456Z')))).toBe('2026-01-07T10:00:00.000Z');
    expect(s.descriptor).toEqual({ kind: 'interval', everyMs: 900_000, anchor: '1970-01-01T00:00:00.000Z' });
  });

  it('next is strictly after, prev at or before', () => {
    const s = intervalSchedule('15m');
    expect(iso(s.next(at('2026-01-07T10:15:00Z')))).toBe('2026-01-07T10:30:00.000Z');
    expect(iso(s.next(at('2026-01-07T10:14:59.999Z')))).toBe('2026-01-07T10:15:00.000Z');
    expect(iso(s.prev(at('2026-01-07T10:15:00Z')))).toBe('2026-01-07T10:15:00.000Z');
    expect(iso(s.prev(at('2026-01-07T10:14:59.999Z')))).toBe('2026-01-07T10:00:00.000Z');
  });

  it('accepts duration strings equal to their ms value', () => {
    const a = intervalSchedule('1h30m');
    const b = intervalSchedule(5_400_000);
    const x = at('2026-01-07T10:07:00Z');
    expect(iso(a.next(x))).toBe(iso(b.next(x)));
    expect(a.descriptor).toEqual(b.descriptor);
    expect(iso(intervalSchedule('500ms').next(at('2026-01-07T10:00:00.200Z')))).toBe('2026-01-07T10:00:00.500Z');
  });

  it('two schedules built apart (different instances, different times) give the same slots', () => {
    const a = intervalSchedule('7m', { startAt: '2026-01-07T10:03:00Z' });
    const b = intervalSchedule(420_000, { startAt: new Date(Date.parse('2026-01-07T10:03:00Z')) });
    for (const x of ['2026-01-07T10:00:00Z', '2026-01-07T11:11:11Z', '2027-06-01T00:00:00.001Z']) {
      expect(iso(a.next(at(x)))).toBe(iso(b.next(at(x))));
      expect(iso(a.prev(at(x)))).toBe(iso(b.prev(at(x))));
    }
  });

  it('anchors to startAt, which is the first slot', () => {
    const s = intervalSchedule('15m', { startAt: '2026-01-07T10:07:00Z' });
    expect(iso(s.next(at('2026-01-01T00:00:00Z')))).toBe('2026-01-07T10:07:00.000Z');
    expect(iso(s.next(at('2026-01-07T10:07:00Z')))).toBe('2026-01-07T10:22:00.000Z');
    expect(iso(s.prev(at('2026-01-07T10:06:59Z')))).toBeNull();
    expect(iso(s.prev(at('2026-01-07T10:21:59Z')))).toBe('2026-01-07T10:07:00.000Z');
  });

  it('keeps a separate anchor when given one, filtered by startAt', () => {
    const s = intervalSchedule('1h', { anchor: '2026-01-01T00:30:00Z', startAt: '2026-01-07T10:00:00Z' });
    expect(iso(s.next(at('2026-01-01T00:00:00Z')))).toBe('2026-01-07T10:30:00.000Z');
    expect(s.descriptor).toEqual({ kind: 'interval', everyMs: 3_600_000, anchor: '2026-01-01T00:30:00.000Z', startAt: '2026-01-07T10:00:00.000Z' });
  });

  it('endAt is inclusive; nothing after it', () => {
    const s = intervalSchedule('1h', { endAt: '2026-01-07T12:00:00Z' });
    expect(iso(s.next(at('2026-01-07T11:30:00Z')))).toBe('2026-01-07T12:00:00.000Z');
    expect(iso(s.next(at('2026-01-07T12:00:00Z')))).toBeNull();
    expect(iso(s.prev(at('2030-01-01T00:00:00Z')))).toBe('2026-01-07T12:00:00.000Z');
  });

  it('does not drift: slots far away stay exact multiples of the period from the anchor', () => {
    const s = intervalSchedule(333, { anchor: '2026-01-01T00:00:00.007Z' });
    const anchor = Date.parse('2026-01-01T00:00:00.007Z');
    for (const x of [Date.UTC(2100, 0, 1, 0, 0, 0, 123), Date.UTC(1999, 5, 6, 7, 8, 9, 10), Date.UTC(2026, 0, 1)]) {
      const next = s.next(new Date(x))?.getTime() as number;
      const prev = s.prev(new Date(x))?.getTime() as number;
      expect(Math.abs((next - anchor) % 333)).toBe(0);
      expect(Math.abs((prev - anchor) % 333)).toBe(0);
      expect(next - prev).toBe(333);
      expect(prev <= x && x < next).toBe(true);
    }
  });

  it('counts its slots in an open interval without walking', () => {
    const s = new IntervalSchedule('1s', { endAt: '2026-01-08T00:00:00Z' });
    const a = Date.parse('2026-01-07T00:00:00Z');
    expect(s.countSlots(a, a + 10_000, 1_000_000)).toBe(9); // (a, a+10s): a+1s .. a+9s
    expect(s.countSlots(a, a + 7 * 86_400_000, 1_000_000)).toBe(86_400); // stops at endAt
    expect(s.countSlots(a, a + 7 * 86_400_000, 100)).toBe(100);
    expect(s.countSlots(a, a + 500, 100)).toBe(0);
  });

  it.each([
    [0, /greater than 0/],
    ['0m', /greater than 0/],
    [-1, /negative/],
    [Number.NaN, /finite/],
    [Number.POSITIVE_INFINITY, /finite/],
    ['fast', /not a duration/],
    ['5', /no unit/],
  ])('rejects every = %j naming the field', (every, why) => {
    let caught: unknown;
    try {
      intervalSchedule(every);
    } catch (error) {
      caught = error;
    }
    expect(SchedkitError.is(caught, 'E_INVALID_SCHEDULE')).toBe(true);
    const error = caught as SchedkitError;
    expect(error.details.field).toBe('every');
    expect(error.message).toMatch(/^intervalSchedule\(\): invalid every: /);
    expect(error.message).toMatch(why);
  });
});
