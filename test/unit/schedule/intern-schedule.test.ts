import { describe, expect, it } from 'vitest';
import { parseSchedule, scheduleFromDescriptor, scheduleHash } from '../../../src/schedule/parse-schedule.js';

describe('schedules are shared between jobs with the same definition', () => {
  it('one object for equal schedules, whatever the form they were written in', () => {
    const a = parseSchedule('*/5 * * * *', 'job "a"')!.schedule;
    const b = parseSchedule({ cron: '*/5 * * * *' }, 'job "b"')!.schedule;
    expect(b).toBe(a);
    expect(scheduleFromDescriptor(a.descriptor)).toBe(a);
    const every = parseSchedule({ every: '1h', startAt: '2030-01-01T00:00:00Z' }, 'job "c"')!.schedule;
    expect(parseSchedule({ every: 3_600_000, startAt: new Date('2030-01-01T00:00:00Z') }, 'job "d"')!.schedule).toBe(every);
  });

  it('distinct objects for schedules that differ in anything', () => {
    const base = parseSchedule({ cron: '0 3 * * *' }, 'job "a"')!.schedule;
    expect(parseSchedule({ cron: '0 3 * * *', tz: 'Europe/Berlin' }, 'job "b"')!.schedule).not.toBe(base);
    expect(parseSchedule({ cron: '0 4 * * *' }, 'job "c"')!.schedule).not.toBe(base);
    expect(parseSchedule({ cron: '0 3 * * *', endAt: '2040-01-01T00:00:00Z' }, 'job "d"')!.schedule).not.toBe(base);
  });

  it('a limit is the job\'s, not the schedule\'s: equal schedules with different limits share the schedule', () => {
    const a = parseSchedule({ every: '1m', limit: 3 }, 'job "a"')!;
    const b = parseSchedule({ every: '1m', limit: 5 }, 'job "b"')!;
    expect(b.schedule).toBe(a.schedule);
    expect([a.limit, b.limit]).toEqual([3, 5]);
  });
});

describe('scheduleHash', () => {
  it('is the same text for equal definitions and differs with the limit, computed once per shared schedule', () => {
    const a = parseSchedule({ every: '5m', limit: 2 }, 'job "a"')!;
    const b = parseSchedule({ every: '5m', limit: 2 }, 'job "b"')!;
    const c = parseSchedule({ every: '5m' }, 'job "c"')!;
    expect(scheduleHash(b.schedule.descriptor, b.limit)).toBe(scheduleHash(a.schedule.descriptor, a.limit));
    expect(scheduleHash(c.schedule.descriptor, c.limit)).not.toBe(scheduleHash(a.schedule.descriptor, a.limit));
    // An unfrozen (caller-made) descriptor is hashed afresh each time, by content.
    const copy = { ...a.schedule.descriptor };
    expect(scheduleHash(copy, 2)).toBe(scheduleHash(a.schedule.descriptor, 2));
  });
});
