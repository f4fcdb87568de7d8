/**
 * The `startAt`/`endAt` window every schedule kind accepts, resolved to epoch
 * milliseconds with errors that name the option at fault.
 */
import { parseInstant } from './instant.js';
import { scheduleError } from './schedule-error.js';

/** A resolved `startAt`/`endAt` window in epoch ms; null = unbounded. Both ends inclusive. */
export interface Window {
  readonly startAt: number | null;
  readonly endAt: number | null;
}

/**
 * Validates and resolves a `startAt`/`endAt` pair.
 *
 * @param where how the caller names itself in errors, e.g. `cronSchedule()`.
 * @throws SchedkitError `E_INVALID_SCHEDULE` naming `startAt` or `endAt`.
 */
export function resolveWindow(startAt: unknown, endAt: unknown, where: string): Window {
  const start = startAt === undefined ? null : instantOrThrow(startAt, where, 'startAt');
  const end = endAt === undefined ? null : instantOrThrow(endAt, where, 'endAt');
  if (start !== null && end !== null && end <= start) {
    throw scheduleError(where, 'endAt', `${new Date(end).toISOString()} is not after startAt ${new Date(start).toISOString()}`);
  }
  return { startAt: start, endAt: end };
}

/** `parseInstant`, with a failure reported as `E_INVALID_SCHEDULE` naming `field`. */
export function instantOrThrow(value: unknown, where: string, field: string): number {
  try {
    return parseInstant(value);
  } catch (error) {
    throw scheduleError(where, field, (error as Error).message);
  }
}
