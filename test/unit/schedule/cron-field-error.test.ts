import { describe, expect, it } from 'vitest';
import { SchedkitError } from '../../../src/errors/schedkit-error.js';
import { cronSchedule } from '../../../src/schedule/cron-schedule.js';
import { parseSchedule } from '../../../src/schedule/parse-schedule.js';

function errorOf(build: () => unknown): SchedkitError {
  try {
    build();
  } catch (error) {
    if (SchedkitError.is(error)) return error;
    throw error;
  }
  throw new Error('expected an error');
}

describe('a cron error names the field at fault', () => {
  it.each([
    ['61 * * * *', 'minute', '"61 * * * *": minute: 61 is not in 0-59'],
    ['0 24 * * *', 'hour', '"0 24 * * *": hour: 24 is not in 0-23'],
    ['0 0 0 * *', 'day of month', '"0 0 0 * *": day of month: 0 is not in 1-31'],
    ['0 0 32 * *', 'day of month', '"0 0 32 * *": day of month: 32 is not in 1-31'],
    ['0 0 1 13 *', 'month', '"0 0 1 13 *": month: 13 is not in 1-12'],
    ['0 0 * * 8', 'day of week', '"0 0 * * 8": day of week: 8 is not in 0-7'],
    ['60 0 0 * * *', 'second', '"60 0 0 * * *": second: 60 is not in 0-59'],
    ['0 60 0 * * *', 'minute', '"0 60 0 * * *": minute: 60 is not in 0-59'],
    ['*/0 * * * *', 'minute', '"*/0 * * * *": minute: step 0 in "*/0": a step must be at least 1'],
    ['0 */0 * * *', 'hour', '"0 */0 * * *": hour: step 0 in "*/0": a step must be at least 1'],
    ['5-70 * * * *', 'minute', '"5-70 * * * *": minute: range 5-70 is not within 0-59'],
    ['0 0 0-40 * *', 'day of month', '"0 0 0-40 * *": day of month: range 0-40 is not within 1-31'],
    ['1,2,99 * * * *', 'minute', '"1,2,99 * * * *": minute: 99 is not in 0-59'],
    ['5-2 * * * *', 'minute', '"5-2 * * * *": minute: range 5-2 in "5-2" starts after it ends (5 > 2)'],
    ['70/5 * * * *', 'minute', '"70/5 * * * *": minute: "70/5" starts at 70, past the last value 59'],
    ['0 0 * JANX *', 'month', '"0 0 * JANX *": month: "JANX" is not a value, range, step or name this field accepts'],
    ['0 0 * * 1#6', 'day of week', '"0 0 * * 1#6": day of week: "1#6": the occurrence after # must be 1-5'],
  ])('%j -> %s', (expr, field, reason) => {
    const error = errorOf(() => cronSchedule(expr));
    expect(error.code).toBe('E_INVALID_SCHEDULE');
    expect(error.message).toBe(`cronSchedule(): invalid cron: ${reason}`);
    expect(error.details).toMatchObject({ field: 'cron', cronField: field, reason });
  });

  it('keeps the field through a job registration', () => {
    const error = errorOf(() => parseSchedule('61 * * * *', 'job "report"'));
    expect(error.code).toBe('E_INVALID_SCHEDULE');
    expect(error.message).toBe('job "report": invalid schedule.cron: "61 * * * *": minute: 61 is not in 0-59');
    expect(error.details).toMatchObject({ field: 'schedule.cron', cronField: 'minute' });
  });

  it('names no field when only the fields together are wrong', () => {
    const error = errorOf(() => cronSchedule('0 0 30 2 *'));
    expect(error.message).toMatch(/^cronSchedule\(\): invalid cron: "0 0 30 2 \*": Invalid explicit day of month definition/);
    expect(error.details.cronField).toBeUndefined();
  });
});
