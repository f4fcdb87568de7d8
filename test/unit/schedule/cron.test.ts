import { CronExpressionParser } from 'cron-parser';
import { describe, expect, it } from 'vitest';
import { SchedkitError } from '../../../src/errors/schedkit-error.js';
import { normaliseCron } from '../../../src/schedule/cron-expression.js';
import { CronSchedule, cronSchedule } from '../../../src/schedule/cron-schedule.js';

const at = (iso: string): Date => new Date(iso);
const iso = (d: Date | null): string | null => (d === null ? null : d.toISOString());

/** The first `n` slots after `from`. */
function forward(expr: string, from: string, n: number, tz?: string): string[] {
  const s = cronSchedule(expr, tz === undefined ? {} : { tz });
  const out: string[] = [];
  for (let d: Date | null = at(from); out.length < n; ) {
    d = s.next(d);
    if (d === null) break;
    out.push(d.toISOString());
  }
  return out;
}

function errorOf(fn: () => unknown): SchedkitError {
  try {
    fn();
  } catch (error) {
    if (SchedkitError.is(error)) return error;
    throw error;
  }
  throw new Error('expected a SchedkitError');
}

describe('cronSchedule: fields', () => {
  it('reads 5 fields with the minute first and fires on second 0', () => {
    expect(forward('*/5 * * * *', '2026-01-07T10:02:30Z', 3)).toEqual(['2026-01-07T10:05:00.000Z', '2026-01-07T10:10:00.000Z', '2026-01-07T10:15:00.000Z']);
    expect(forward('0 */6 * * *', '2026-01-07T10:02:30Z', 2)).toEqual(['2026-01-07T12:00:00.000Z', '2026-01-07T18:00:00.000Z']);
  });

  it('reads 6 fields with the seconds first', () => {
    expect(forward('*/20 * * * * *', '2026-01-07T10:00:05Z', 3)).toEqual(['2026-01-07T10:00:20.000Z', '2026-01-07T10:00:40.000Z', '2026-01-07T10:01:00.000Z']);
    expect(forward('30 15 10 * * *', '2026-01-07T10:15:30Z', 1)).toEqual(['2026-01-08T10:15:30.000Z']);
  });

  it('supports L, nL, n#k, names and the OR of day-of-month and day-of-week', () => {
    expect(forward('0 0 L * *', '2026-01-01T00:00:00Z', 3)).toEqual(['2026-01-31T00:00:00.000Z', '2026-02-28T00:00:00.000Z', '2026-03-31T00:00:00.000Z']);
    expect(forward('0 0 * * 5L', '2026-01-01T00:00:00Z', 2)).toEqual(['2026-01-30T00:00:00.000Z', '2026-02-27T00:00:00.000Z']);
    expect(forward('0 0 * * 5#2', '2026-01-01T00:00:00Z', 2)).toEqual(['2026-01-09T00:00:00.000Z', '2026-02-13T00:00:00.000Z']);
    expect(forward('0 9 * JAN MON-FRI', '2026-01-30T10:00:00Z', 2)).toEqual(['2027-01-01T09:00:00.000Z', '2027-01-04T09:00:00.000Z']);
    // 1st of the month OR Monday (Vixie cron).
    expect(forward('0 0 1 * 1', '2026-01-27T00:00:00Z', 3)).toEqual(['2026-02-01T00:00:00.000Z', '2026-02-02T00:00:00.000Z', '2026-02-09T00:00:00.000Z']);
  });

  it('finds rare slots years away, forward and backward', () => {
    const leap = cronSchedule('0 0 29 2 *', { tz: 'Europe/Berlin' });
    expect(iso(leap.next(at('2026-03-01T00:00:00Z')))).toBe('2028-02-28T23:00:00.000Z');
    expect(iso(leap.prev(at('2026-03-01T00:00:00Z')))).toBe('2024-02-28T23:00:00.000Z');
  });

  it('resolves H the same way on every instance (seeded by the expression)', () => {
    const a = cronSchedule('H * * * *').next(at('2026-01-07T10:00:00Z'));
    const b = cronSchedule('H * * * *').next(at('2026-01-07T10:00:00Z'));
    const expected = CronExpressionParser.parse('H * * * *', { tz: 'UTC', hashSeed: 'H * * * *', currentDate: at('2026-01-07T10:00:00Z') }).next();
    expect(iso(a)).toBe(iso(b));
    expect(a?.getTime()).toBe(expected.getTime());
  });
});

describe('cronSchedule: aliases', () => {
  // 2026-01-07T10:20:30Z is a Wednesday.
  const from = '2026-01-07T10:20:30Z';
  it.each([
    ['@yearly', '2027-01-01T00:00:00.000Z'],
    ['@annually', '2027-01-01T00:00:00.000Z'],
    ['@monthly', '2026-02-01T00:00:00.000Z'],
    ['@weekly', '2026-01-11T00:00:00.000Z'],
    ['@daily', '2026-01-08T00:00:00.000Z'],
    ['@hourly', '2026-01-07T11:00:00.000Z'],
    ['@minutely', '2026-01-07T10:21:00.000Z'],
    ['@secondly', '2026-01-07T10:20:31.000Z'],
    ['@weekdays', '2026-01-08T00:00:00.000Z'],
    ['@weekends', '2026-01-10T00:00:00.000Z'],
  ])('%s fires next at %s', (alias, expected) => {
    expect(forward(alias, from, 1)).toEqual([expected]);
  });

  it('accepts aliases in any case and normalises them', () => {
    expect(normaliseCron(' @DAILY ')).toBe('@daily');
    expect(forward('@Hourly', from, 1)).toEqual(['2026-01-07T11:00:00.000Z']);
  });
});

describe('cronSchedule: next and prev', () => {
  const s = cronSchedule('*/15 * * * *');

  it('next is strictly after its argument', () => {
    expect(iso(s.next(at('2026-01-07T10:15:00Z')))).toBe('2026-01-07T10:30:00.000Z');
    expect(iso(s.next(at('2026-01-07T10:14:59.999Z')))).toBe('2026-01-07T10:15:00.000Z');
    expect(iso(s.next(at('2026-01-07T10:15:00.001Z')))).toBe('2026-01-07T10:30:00.000Z');
  });

  it('prev is at or before its argument', () => {
    expect(iso(s.prev(at('2026-01-07T10:15:00Z')))).toBe('2026-01-07T10:15:00.000Z');
    expect(iso(s.prev(at('2026-01-07T10:15:00.999Z')))).toBe('2026-01-07T10:15:00.000Z');
    expect(iso(s.prev(at('2026-01-07T10:14:59.999Z')))).toBe('2026-01-07T10:00:00.000Z');
  });

  it('agrees with cron-parser in UTC on random expressions and instants (next and prev)', () => {
    let seed = 42;
    const rnd = (): number => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648;
    const pick = (options: string[]): string => options[Math.floor(rnd() * options.length)] as string;
    let compared = 0;
    for (let i = 0; i < 400; i++) {
      const seconds = rnd() < 0.3 ? `${pick(['0', '*', '*/15', '5,35', '10-20'])} ` : '';
      const expr = `${seconds}${pick(['*', '0', '*/5', '15,45', '0-10/3', '59'])} ${pick(['*', '0', '3', '*/6', '9-17', '1,13'])} ${pick(['*', '1', '15', 'L', '31', '29', '1,15', '*/10'])} ${pick(['*', '2', '1,7', '*/3', '12'])} ${pick(['*', '1', '7', '1-5', '5L', '5#2', '6,0'])}`;
      let schedule: CronSchedule;
      try {
        schedule = new CronSchedule(expr);
      } catch {
        continue; // e.g. '31' in February only: cron-parser rejects it, and so do we
      }
      const x = Date.UTC(2020, 0, 1) + Math.floor(rnd() * 3650 * 86_400_000) + (rnd() < 0.5 ? 0 : 123);
      const expectedNext = CronExpressionParser.parse(expr, { tz: 'UTC', currentDate: x, hashSeed: expr }).next().getTime();
      const expectedPrev = CronExpressionParser.parse(expr, { tz: 'UTC', currentDate: x + 1, hashSeed: expr }).prev().getTime();
      expect([expr, schedule.next(new Date(x))?.getTime()]).toEqual([expr, expectedNext]);
      expect([expr, schedule.prev(new Date(x))?.getTime()]).toEqual([expr, expectedPrev]);
      compared++;
    }
    expect(compared).toBeGreaterThan(300);
  });

  it('throws on an Invalid Date instead of returning a wrong slot', () => {
    expect(() => s.next(new Date(Number.NaN))).toThrow(RangeError);
    expect(() => s.prev(new Date(Number.NaN))).toThrow(RangeError);
  });
});

describe('cronSchedule: time zone', () => {
  it('defaults to UTC, not the process zone', () => {
    const s = cronSchedule('0 9 * * *');
    expect(iso(s.next(at('2026-01-07T00:00:00Z')))).toBe('2026-01-07T09:00:00.000Z');
    expect(s.descriptor).toEqual({ kind: 'cron', cron: '0 9 * * *', tz: 'UTC' });
  });

  it('reads the expression in the given zone', () => {
    // 09:00 in Tokyo is 00:00Z: strictly after 00:00Z, so the next day's.
    expect(forward('0 9 * * *', '2026-01-07T00:00:00Z', 1, 'Asia/Tokyo')).toEqual(['2026-01-08T00:00:00.000Z']);
    expect(forward('0 9 * * *', '2026-01-06T23:59:59Z', 1, 'Asia/Tokyo')).toEqual(['2026-01-07T00:00:00.000Z']);
    expect(forward('0 9 * * *', '2026-01-07T00:00:00Z', 1, 'America/New_York')).toEqual(['2026-01-07T14:00:00.000Z']);
    expect(forward('0 9 * * *', '2026-07-07T00:00:00Z', 1, 'America/New_York')).toEqual(['2026-07-07T13:00:00.000Z']);
    expect(forward('0 9 * * *', '2026-07-07T00:00:00Z', 1, 'Asia/Kolkata')).toEqual(['2026-07-07T03:30:00.000Z']);
  });

  it('stores the canonical zone name', () => {
    expect(new CronSchedule('0 9 * * *', { tz: 'europe/berlin' }).tz).toBe('Europe/Berlin');
    expect(new CronSchedule('0 9 * * *', { tz: 'Etc/UTC' }).tz).toBe('UTC');
  });
});

describe('cronSchedule: startAt / endAt', () => {
  const s = cronSchedule('0 * * * *', { startAt: '2026-01-07T10:00:00Z', endAt: at('2026-01-07T12:00:00Z') });

  it('includes a slot exactly at startAt and none before', () => {
    expect(iso(s.next(at('2026-01-01T00:00:00Z')))).toBe('2026-01-07T10:00:00.000Z');
    expect(iso(s.prev(at('2026-01-07T09:59:59Z')))).toBeNull();
    expect(iso(s.prev(at('2026-01-07T10:00:00Z')))).toBe('2026-01-07T10:00:00.000Z');
  });

  it('includes a slot exactly at endAt and none after', () => {
    expect(iso(s.next(at('2026-01-07T11:00:00Z')))).toBe('2026-01-07T12:00:00.000Z');
    expect(iso(s.next(at('2026-01-07T12:00:00Z')))).toBeNull();
    expect(iso(s.next(at('2030-01-01T00:00:00Z')))).toBeNull();
    expect(iso(s.prev(at('2030-01-01T00:00:00Z')))).toBe('2026-01-07T12:00:00.000Z');
  });

  it('keeps the window in the descriptor', () => {
    expect(s.descriptor).toEqual({ kind: 'cron', cron: '0 * * * *', tz: 'UTC', startAt: '2026-01-07T10:00:00.000Z', endAt: '2026-01-07T12:00:00.000Z' });
  });
});

describe('cronSchedule: shared parsed expressions', () => {
  it('schedules with the same (expression, zone) return equal results, whatever the call order', () => {
    const a = cronSchedule('*/5 * * * *', { tz: 'Europe/Berlin' });
    const b = cronSchedule('*/5 * * * *', { tz: 'Europe/Berlin' });
    const c = cronSchedule('*/5 * * * *', { tz: 'Asia/Kolkata' });
    const x = at('2026-01-07T10:02:00Z');
    const y = at('2026-05-01T23:59:59Z');
    const first = iso(a.next(x));
    expect(iso(b.next(y))).toBe('2026-05-02T00:00:00.000Z');
    expect(iso(a.next(x))).toBe(first);
    expect(iso(b.next(x))).toBe(first);
    expect(first).toBe('2026-01-07T10:05:00.000Z');
    expect(iso(a.prev(y))).toBe('2026-05-01T23:55:00.000Z');
    expect(iso(b.prev(x))).toBe('2026-01-07T10:00:00.000Z');
    // Kolkata is UTC+05:30: its five-minute marks are the same instants.
    expect(iso(c.next(x))).toBe(first);
    const d = cronSchedule('0 3 * * *', { tz: 'Europe/Berlin' });
    const e = cronSchedule('0 3 * * *', { tz: 'Asia/Kolkata' });
    expect(iso(d.next(x))).toBe('2026-01-08T02:00:00.000Z');
    expect(iso(e.next(x))).toBe('2026-01-07T21:30:00.000Z');
  });

  it('is fast enough to call on every fire (loose bound: >= 20k next() per second)', () => {
    for (const [expr, tz] of [['*/5 * * * *', 'Europe/Berlin'], ['0 3 * * *', 'Europe/Berlin']] as const) {
      const s = cronSchedule(expr, { tz });
      const started = performance.now();
      let d: Date | null = at('2026-01-01T00:00:00Z');
      for (let i = 0; i < 20_000 && d !== null; i++) d = s.next(d);
      expect(d).not.toBeNull();
      expect(performance.now() - started).toBeLessThan(1_000);
    }
  });
});

describe('cronSchedule: invalid input', () => {
  it.each([
    ['', 'cron', /empty/],
    ['   ', 'cron', /empty/],
    ['* * * *', 'cron', /expected 5 fields .* got 4/],
    ['* * * * * * *', 'cron', /got 7/],
    ['60 * * * *', 'cron', /"60 \* \* \* \*": minute: 60 is not in 0-59/],
    ['0 0 30 2 *', 'cron', /Invalid explicit day of month definition/],
    ['@reboot', 'cron', /unknown alias "@reboot"/],
    ['@daily 5', 'cron', /unknown alias/],
    ['0 0 15W * *', 'cron', /day of month: "15W" is not a value, range, step or name this field accepts/],
  ])('rejects %j (field %s)', (expr, field, why) => {
    const error = errorOf(() => cronSchedule(expr));
    expect(error.code).toBe('E_INVALID_SCHEDULE');
    expect(error.details.field).toBe(field);
    expect(error.message).toMatch(why);
    expect(error.message).toContain('cronSchedule(): invalid cron');
  });

  it('rejects an unknown time zone (cron-parser would only fail on next())', () => {
    const error = errorOf(() => cronSchedule('0 * * * *', { tz: 'Mars/Olympus_Mons' }));
    expect(error.details.field).toBe('tz');
    expect(error.message).toMatch(/unknown time zone "Mars\/Olympus_Mons"/);
  });

  it('rejects endAt not after startAt', () => {
    const error = errorOf(() => cronSchedule('0 * * * *', { startAt: '2026-01-02T00:00:00Z', endAt: '2026-01-02T00:00:00Z' }));
    expect(error.details.field).toBe('endAt');
    expect(error.message).toMatch(/is not after startAt/);
  });
});
