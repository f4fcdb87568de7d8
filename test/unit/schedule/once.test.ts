import { describe, expect, it } from 'vitest';
import { SchedkitError } from '../../../src/errors/schedkit-error.js';
import { parseInstant } from '../../../src/schedule/instant.js';
import { onceSchedule } from '../../../src/schedule/once-schedule.js';

const at = (iso: string): Date => new Date(iso);
const iso = (d: Date | null): string | null => (d === null ? null : d.toISOString());

describe('onceSchedule', () => {
  const s = onceSchedule('2026-03-08T15:00:00Z');

  it('next(after) is the instant while it is strictly after `after`', () => {
    expect(iso(s.next(at('2026-03-08T14:59:59.999Z')))).toBe('2026-03-08T15:00:00.000Z');
    expect(iso(s.next(at('2026-03-08T15:00:00Z')))).toBeNull();
    expect(iso(s.next(at('2030-01-01T00:00:00Z')))).toBeNull();
  });

  it('prev(x) is the instant once it is at or before x', () => {
    expect(iso(s.prev(at('2026-03-08T14:59:59.999Z')))).toBeNull();
    expect(iso(s.prev(at('2026-03-08T15:00:00Z')))).toBe('2026-03-08T15:00:00.000Z');
    expect(iso(s.prev(at('2030-01-01T00:00:00Z')))).toBe('2026-03-08T15:00:00.000Z');
  });

  it('accepts a Date and ISO strings with an offset, stores UTC', () => {
    expect(onceSchedule(new Date(Date.UTC(2026, 2, 8, 15))).descriptor).toEqual({ kind: 'once', at: '2026-03-08T15:00:00.000Z' });
    expect(onceSchedule('2026-03-08T16:00:00+01:00').descriptor).toEqual({ kind: 'once', at: '2026-03-08T15:00:00.000Z' });
    expect(onceSchedule('2026-03-08T10:00-05:00').descriptor).toEqual({ kind: 'once', at: '2026-03-08T15:00:00.000Z' });
    expect(onceSchedule('2026-03-08').descriptor).toEqual({ kind: 'once', at: '2026-03-08T00:00:00.000Z' });
    expect(onceSchedule('2026-03-08T15:00:00.250Z').descriptor).toEqual({ kind: 'once', at: '2026-03-08T15:00:00.250Z' });
  });

  it.each([
    [1_772_982_000_000, /numbers are not accepted as dates/],
    [new Date(Number.NaN), /Invalid Date/],
    ['tomorrow', /not an ISO 8601 date/],
    ['March 8, 2026', /not an ISO 8601 date/],
    ['2026-02-30', /not a calendar date/],
    ['2026-13-01T00:00:00Z', /not a calendar date/],
    ['2026-03-08T25:00:00Z', /invalid time of day/],
    ['2026-03-08T15:00:00', /no time zone/],
    [null, /expected a Date or an ISO 8601 string, got null/],
    [{}, /expected a Date or an ISO 8601 string/],
  ])('rejects at = %j naming the field', (value, why) => {
    let caught: unknown;
    try {
      onceSchedule(value as Date);
    } catch (error) {
      caught = error;
    }
    expect(SchedkitError.is(caught, 'E_INVALID_SCHEDULE')).toBe(true);
    const error = caught as SchedkitError;
    expect(error.details.field).toBe('at');
    expect(error.message).toMatch(/^onceSchedule\(\): invalid at: /);
    expect(error.message).toMatch(why);
  });

  it('parseInstant throws plain Errors, for callers to wrap', () => {
    expect(() => parseInstant('nope')).toThrowError(/not an ISO 8601 date/);
    expect(parseInstant('2026-01-01T00:00:00Z')).toBe(Date.UTC(2026, 0, 1));
  });
});
