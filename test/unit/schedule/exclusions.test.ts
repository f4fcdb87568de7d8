import { describe, expect, it } from 'vitest';
import { SchedkitError } from '../../../src/errors/schedkit-error.js';
import { compileExclusions, MAX_EXCLUSIONS } from '../../../src/schedule/exclusions.js';

const at = (text: string) => Date.parse(text);
const job = 'job "x"';

function errorOf(call: () => unknown): SchedkitError {
  try {
    call();
  } catch (error) {
    if (SchedkitError.is(error)) return error;
    throw error;
  }
  throw new Error('the call was accepted');
}

describe('exclusions', () => {
  it('a cron exclusion matches slots at its resolution: the minute for 5 fields, the second for 6', () => {
    const minutes = compileExclusions([{ cron: '* * 24-26 12 *' }], job, undefined)!;
    expect(minutes.matches(at('2026-12-25T10:00:00Z'))).toBe(true);
    expect(minutes.matches(at('2026-12-25T10:00:30.500Z'))).toBe(true);
    expect(minutes.matches(at('2026-12-27T00:00:00Z'))).toBe(false);
    expect(minutes.matches(at('2026-12-23T23:59:59Z'))).toBe(false);

    const hourly = compileExclusions([{ cron: '0 3 * * *' }], job, undefined)!;
    expect(hourly.matches(at('2026-05-01T03:00:00Z'))).toBe(true);
    expect(hourly.matches(at('2026-05-01T03:00:59Z'))).toBe(true);
    expect(hourly.matches(at('2026-05-01T03:01:00Z'))).toBe(false);

    const seconds = compileExclusions([{ cron: '*/10 * * * * *' }], job, undefined)!;
    expect(seconds.matches(at('2026-05-01T03:00:10Z'))).toBe(true);
    expect(seconds.matches(at('2026-05-01T03:00:10.900Z'))).toBe(true);
    expect(seconds.matches(at('2026-05-01T03:00:11Z'))).toBe(false);
  });

  it('reads a cron exclusion in its tz, else the job schedule\'s zone, else UTC', () => {
    // 09:00 in Berlin (winter, UTC+1) is 08:00 UTC.
    const own = compileExclusions([{ cron: '0 9 * * *', tz: 'Europe/Berlin' }], job, undefined)!;
    expect(own.matches(at('2026-01-05T08:00:00Z'))).toBe(true);
    expect(own.matches(at('2026-01-05T09:00:00Z'))).toBe(false);
    const inherited = compileExclusions([{ cron: '0 9 * * *' }], job, 'Europe/Berlin')!;
    expect(inherited.matches(at('2026-01-05T08:00:00Z'))).toBe(true);
    const utc = compileExclusions([{ cron: '0 9 * * *' }], job, undefined)!;
    expect(utc.matches(at('2026-01-05T09:00:00Z'))).toBe(true);
  });

  it('a range excludes from (inclusive) to (exclusive)', () => {
    const range = compileExclusions([{ from: '2026-03-01T00:00:00Z', to: new Date('2026-03-02T00:00:00Z') }], job, undefined)!;
    expect(range.matches(at('2026-02-28T23:59:59.999Z'))).toBe(false);
    expect(range.matches(at('2026-03-01T00:00:00Z'))).toBe(true);
    expect(range.matches(at('2026-03-01T23:59:59.999Z'))).toBe(true);
    expect(range.matches(at('2026-03-02T00:00:00Z'))).toBe(false);
  });

  it('matches when any of several exclusions matches; none or [] gives null', () => {
    const both = compileExclusions([{ cron: '0 0 1 1 *' }, { from: '2026-06-01', to: '2026-06-02' }], job, undefined)!;
    expect(both.matches(at('2027-01-01T00:00:00Z'))).toBe(true);
    expect(both.matches(at('2026-06-01T12:00:00Z'))).toBe(true);
    expect(both.matches(at('2026-06-02T12:00:00Z'))).toBe(false);
    expect(compileExclusions(undefined, job, undefined)).toBeNull();
    expect(compileExclusions([], job, undefined)).toBeNull();
  });

  it('describes itself in normal form (for the definition hash)', () => {
    const rules = compileExclusions([{ cron: '0  9 * * *', tz: 'Etc/UTC' }, { from: '2026-06-01', to: '2026-06-01T12:00:00+02:00' }], job, undefined)!;
    expect(rules.describe()).toEqual([
      { cron: '0 9 * * *', tz: 'UTC' },
      { from: '2026-06-01T00:00:00.000Z', to: '2026-06-01T10:00:00.000Z' },
    ]);
  });

  it.each([
    ['not an array', { cron: '* * * * *' }, 'E_INVALID_JOB', 'exclude'],
    ['too many', Array.from({ length: MAX_EXCLUSIONS + 1 }, () => ({ cron: '* * * * *' })), 'E_INVALID_JOB', 'exclude'],
    ['a string entry', ['0 0 * * *'], 'E_INVALID_JOB', 'exclude[0]'],
    ['null entry', [{ cron: '0 0 * * *' }, null], 'E_INVALID_JOB', 'exclude[1]'],
    ['unknown key with cron', [{ cron: '0 0 * * *', zone: 'UTC' }], 'E_INVALID_JOB', 'exclude[0]'],
    ['empty object', [{}], 'E_INVALID_JOB', 'exclude[0]'],
    ['from without to', [{ from: '2026-01-01' }], 'E_INVALID_JOB', 'exclude[0]'],
    ['to before from', [{ from: '2026-01-02', to: '2026-01-01' }], 'E_INVALID_JOB', 'exclude[0]'],
    ['from equal to to', [{ from: '2026-01-02', to: '2026-01-02' }], 'E_INVALID_JOB', 'exclude[0]'],
    ['from not a date', [{ from: 'soon', to: '2026-01-01' }], 'E_INVALID_JOB', 'exclude[0].from'],
    ['to a number', [{ from: '2026-01-01', to: 1_767_225_600_000 }], 'E_INVALID_JOB', 'exclude[0].to'],
    ['cron out of range', [{ cron: '0 0 * * *' }, { cron: '61 * * * *' }], 'E_INVALID_SCHEDULE', 'exclude[1].cron'],
    ['cron empty', [{ cron: '' }], 'E_INVALID_SCHEDULE', 'exclude[0].cron'],
    ['cron not a string', [{ cron: 5 }], 'E_INVALID_SCHEDULE', 'exclude[0].cron'],
    ['unknown tz', [{ cron: '0 0 * * *', tz: 'Mars/Base' }], 'E_INVALID_SCHEDULE', 'exclude[0].tz'],
  ])('refuses %s', (_label, input, code, field) => {
    const error = errorOf(() => compileExclusions(input, job, undefined));
    expect(error.code).toBe(code);
    expect(error.details.field).toBe(field);
    expect(error.message).toContain(`job "x": invalid ${field}`);
  });
});
