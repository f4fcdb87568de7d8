import { ErrorCode, SchedkitError } from '../errors/schedkit-error.js';
import { messages } from '../errors/messages.js';

/**
 * The error of a schedule built by hand (`cronSchedule()`, ...):
 * `details.field` is the option (`cron`, `tz`, `every`, `at`, `startAt`,
 * `endAt`) and `details.reason` the bare reason, so `parseSchedule` can
 * re-label it with the job and the `schedule.` prefix; `extra` adds facts
 * such as `cronField` (the cron field at fault), kept by the re-label.
 */
export function scheduleError(where: string, field: string, reason: string, cause?: unknown, extra?: Record<string, unknown>): SchedkitError {
  return new SchedkitError(ErrorCode.InvalidSchedule, messages.invalidSchedule(where, field, reason), {
    cause,
    details: { ...extra, field, reason },
  });
}
