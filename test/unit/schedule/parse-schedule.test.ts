import { describe, expect, it } from 'vitest';
import { jobLabel } from '../../../src/errors/messages.js';
import { SchedkitError } from '../../../src/errors/schedkit-error.js';
import { cronSchedule } from '../../../src/schedule/cron-schedule.js';
import { intervalSchedule } from '../../../src/schedule/interval-schedule.js';
import { onceSchedule } from '../../../src/schedule/once-schedule.js';
import { parseSchedule, scheduleFromDescriptor, scheduleHash } from '../../../src/schedule/parse-schedule.js';
import type { Schedule, ScheduleDescriptor, ScheduleInput } from '../../../src/schedule/schedule.js';

const job = jobLabel('report', 'acme');
const x = new Date('2026-03-08T06:00:00Z');

function parsed(input: unknown) {
  const result = parseSchedule(input as ScheduleInput, job);
  if (result === null) throw new Error('expected a schedule');
  return result;
}

describe('parseSchedule: valid input', () => {
  it('undefined means a trigger-only job', () => {
    expect(parseSchedule(undefined, job)).toBeNull();
  });

  it('a cron string, in UTC', () => {
    const { schedule, limit } = parsed('0 3 * * *');
    expect(schedule.descriptor).toEqual({ kind: 'cron', cron: '0 3 * * *', tz: 'UTC' });
    expect(schedule.next(x)?.toISOString()).toBe('2026-03-09T03:00:00.000Z');
    expect(limit).toBeNull();
  });

  it('{ cron, tz, startAt, endAt, limit }', () => {
    const { schedule, limit } = parsed({ cron: '0 3 * * *', tz: 'Europe/Berlin', startAt: '2026-03-10T00:00:00Z', endAt: new Date('2026-04-01T00:00:00Z'), limit: 3 });
    expect(schedule.next(x)?.toISOString()).toBe('2026-03-10T02:00:00.000Z');
    expect(limit).toBe(3);
    expect(schedule.descriptor).toEqual({ kind: 'cron', cron: '0 3 * * *', tz: 'Europe/Berlin', startAt: '2026-03-10T00:00:00.000Z', endAt: '2026-04-01T00:00:00.000Z' });
  });

  it('{ every } with a number or a duration, and { at }', () => {
    expect(parsed({ every: 15 * 60_000 }).schedule.next(x)?.toISOString()).toBe('2026-03-08T06:15:00.000Z');
    expect(parsed({ every: '15m', limit: 1 })).toMatchObject({ limit: 1 });
    expect(parsed({ at: '2026-03-08T15:00:00Z' }).schedule.descriptor).toEqual({ kind: 'once', at: '2026-03-08T15:00:00.000Z' });
  });

  it('a Schedule object is used as is', () => {
    const own: Schedule = { next: () => null, prev: () => null, descriptor: { kind: 'once', at: '2026-01-01T00:00:00.000Z' } };
    expect(parsed(own).schedule).toBe(own);
    const built = intervalSchedule('1h');
    expect(parsed(built).schedule).toBe(built);
  });

  it('ignores options explicitly set to undefined', () => {
    expect(parsed({ cron: '@daily', tz: undefined, limit: undefined }).limit).toBeNull();
  });
});

describe('parseSchedule: invalid input', () => {
  const cases: [string, unknown, string, RegExp][] = [
    ['a number', 5, 'schedule', /expected a cron string, \{ cron \}, \{ every \}, \{ at \} or a Schedule, got 5/],
    ['null', null, 'schedule', /got null/],
    ['a boolean', true, 'schedule', /got true/],
    ['an array', ['* * * * *'], 'schedule', /got an array/],
    ['a Date', new Date('2026-01-01T00:00:00Z'), 'schedule', /write \{ at: date \}/],
    ['an empty string', '', 'schedule', /empty/],
    ['a blank string', '   ', 'schedule', /empty/],
    ['an object of unknown shape', { when: 'daily' }, 'schedule', /expected one of cron, every or at.*"when"/],
    ['an empty object', {}, 'schedule', /expected one of cron, every or at/],
    ['both cron and every', { cron: '* * * * *', every: 1000 }, 'schedule', /only one of cron, every and at, got cron and every/],
    ['cron with at', { cron: '* * * * *', at: '2026-01-01' }, 'schedule', /got cron and at/],
    ['a misspelt option', { cron: '* * * * *', timezone: 'UTC' }, 'schedule', /unknown option\(s\) "timezone"/],
    ['limit on a once schedule', { at: '2026-01-01', limit: 1 }, 'schedule', /unknown option\(s\) "limit" for \{ at \}/],
    ['a function with next only', { next: () => null }, 'schedule', /expected one of cron, every or at/],
    ['a bad cron field', '60 * * * *', 'schedule.cron', /minute: 60 is not in 0-59/],
    ['a bad cron field (object)', { cron: '0 25 * * *' }, 'schedule.cron', /hour: 25 is not in 0-23/],
    ['too few cron fields', '* * * *', 'schedule.cron', /expected 5 fields .* got 4/],
    ['too many cron fields', '* * * * * * *', 'schedule.cron', /got 7/],
    ['@reboot', '@reboot', 'schedule.cron', /unknown alias "@reboot"/],
    ['cron not a string', { cron: 5 }, 'schedule.cron', /expected a cron expression string, got 5/],
    ['an empty cron in an object', { cron: '' }, 'schedule.cron', /empty/],
    ['an unknown time zone', { cron: '0 * * * *', tz: 'Europe/Atlantis' }, 'schedule.tz', /unknown time zone "Europe\/Atlantis"/],
    ['a tz that is not a string', { cron: '0 * * * *', tz: 1 }, 'schedule.tz', /got 1/],
    ['every = 0', { every: 0 }, 'schedule.every', /greater than 0/],
    ['every < 0', { every: -5 }, 'schedule.every', /negative/],
    ['every = NaN', { every: Number.NaN }, 'schedule.every', /finite/],
    ['every = Infinity', { every: Number.POSITIVE_INFINITY }, 'schedule.every', /finite/],
    ['a bad duration', { every: '5 minutes' }, 'schedule.every', /not a duration/],
    ['every not number/string', { every: true }, 'schedule.every', /expected milliseconds or a duration/],
    ['at not a date', { at: 'soon' }, 'schedule.at', /not an ISO 8601 date/],
    ['at an invalid ISO date', { at: '2026-02-30T00:00:00Z' }, 'schedule.at', /not a calendar date/],
    ['at an Invalid Date', { at: new Date(Number.NaN) }, 'schedule.at', /Invalid Date/],
    ['at a number', { at: 1_767_225_600_000 }, 'schedule.at', /numbers are not accepted as dates/],
    ['a bad startAt', { cron: '* * * * *', startAt: 'yesterday' }, 'schedule.startAt', /not an ISO 8601 date/],
    ['a numeric startAt', { every: '1m', startAt: 0 }, 'schedule.startAt', /numbers are not accepted/],
    ['a bad endAt', { every: '1m', endAt: new Date(Number.NaN) }, 'schedule.endAt', /Invalid Date/],
    ['endAt before startAt', { cron: '* * * * *', startAt: '2026-02-01', endAt: '2026-01-01' }, 'schedule.endAt', /is not after startAt/],
    ['endAt equal to startAt', { every: '1m', startAt: '2026-01-01', endAt: '2026-01-01T00:00:00Z' }, 'schedule.endAt', /is not after startAt/],
    ['limit = 0', { cron: '* * * * *', limit: 0 }, 'schedule.limit', /must be a positive integer, got 0/],
    ['limit negative', { every: 1000, limit: -1 }, 'schedule.limit', /positive integer/],
    ['limit fractional', { every: 1000, limit: 1.5 }, 'schedule.limit', /positive integer/],
    ['limit a string', { every: 1000, limit: '3' }, 'schedule.limit', /got "3"/],
  ];

  it.each(cases)('%s', (_name, input, field, why) => {
    let caught: unknown;
    try {
      parseSchedule(input as ScheduleInput, job);
    } catch (error) {
      caught = error;
    }
    expect(SchedkitError.is(caught)).toBe(true);
    const error = caught as SchedkitError;
    expect(error.code).toBe('E_INVALID_SCHEDULE');
    // A bad cron field also names the cron field at fault (cron-field-error.test.ts).
    const { cronField: _cronField, ...details } = error.details;
    expect(details).toEqual({ field });
    expect(error.message.startsWith(`job "acme/report": invalid ${field}: `)).toBe(true);
    expect(error.message).toMatch(why);
  });
});

describe('scheduleFromDescriptor', () => {
  it.each<[string, Schedule]>([
    ['cron', cronSchedule('30 2 * * *', { tz: 'America/New_York', startAt: '2026-01-01T00:00:00Z', endAt: '2027-01-01T00:00:00Z' })],
    ['interval', intervalSchedule('7m', { startAt: '2026-01-01T00:03:00Z' })],
    ['once', onceSchedule('2026-03-08T15:00:00Z')],
  ])('rebuilds a %s schedule from its JSON form', (_kind, original) => {
    const stored = JSON.parse(JSON.stringify(original.descriptor)) as ScheduleDescriptor;
    const rebuilt = scheduleFromDescriptor(stored);
    expect(rebuilt.descriptor).toEqual(original.descriptor);
    for (const t of ['2026-03-08T05:00:00Z', '2026-03-08T07:31:00Z', '2026-12-31T23:59:59Z']) {
      expect(rebuilt.next(new Date(t))?.getTime()).toBe(original.next(new Date(t))?.getTime());
      expect(rebuilt.prev(new Date(t))?.getTime()).toBe(original.prev(new Date(t))?.getTime());
    }
  });

  it('rejects a corrupt descriptor with E_INVALID_SCHEDULE', () => {
    expect(() => scheduleFromDescriptor({ kind: 'cron', cron: '99 * * * *' })).toThrowError(/stored schedule: invalid schedule.cron/);
    expect(() => scheduleFromDescriptor({ kind: 'weekly' } as unknown as ScheduleDescriptor)).toThrowError(/unknown kind "weekly"/);
  });
});

describe('scheduleHash', () => {
  const d: ScheduleDescriptor = { kind: 'cron', cron: '0 3 * * *', tz: 'Europe/Berlin' };

  it('is short, stable and independent of key order', () => {
    const hash = scheduleHash(d, null);
    expect(hash).toMatch(/^[0-9a-f]{16}$/);
    expect(scheduleHash({ tz: 'Europe/Berlin', cron: '0 3 * * *', kind: 'cron' }, null)).toBe(hash);
    expect(scheduleHash(parsed({ cron: '0  3 * * *', tz: 'Europe/Berlin' }).schedule.descriptor, null)).toBe(hash);
  });

  it('changes when the schedule or the limit changes', () => {
    const base = scheduleHash(d, null);
    expect(scheduleHash({ ...d, tz: 'UTC' }, null)).not.toBe(base);
    expect(scheduleHash({ ...d, cron: '0 4 * * *' }, null)).not.toBe(base);
    expect(scheduleHash(d, 5)).not.toBe(base);
    expect(scheduleHash(d, 5)).not.toBe(scheduleHash(d, 6));
  });
});
