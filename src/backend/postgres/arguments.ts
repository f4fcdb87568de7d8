import { ErrorCode, SchedkitError } from '../../errors/schedkit-error.js';
import { messages } from '../../errors/messages.js';

/**
 * Checks on the numbers `PostgresBackend` sends: every value is a bound
 * parameter (or inside one JSON parameter), and JSON would turn NaN or
 * Infinity into null, which the functions read as "none". So a number that
 * is not finite is refused here, with the call and field named.
 */
export function finite(call: string, field: string, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new SchedkitError(ErrorCode.InvalidArgument, messages.invalidBackendNumber(call, field, value), { details: { field } });
  }
  return value;
}

/** A number that may be null (null stands for "none" or "now"). */
export function finiteOrNull(call: string, field: string, value: number | null | undefined): number | null {
  return value === null || value === undefined ? null : finite(call, field, value);
}
