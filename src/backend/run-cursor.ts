/**
 * The `listRuns` page cursor of the memory and PostgreSQL backends: the job
 * key and run id of the last run a page answered, as JSON so either may hold
 * any character. One place, so a cursor one of them answered always parses.
 */
import { messages } from '../errors/messages.js';
import { ErrorCode, SchedkitError } from '../errors/schedkit-error.js';

/** The cursor naming the run at `position` (job key, run id). */
export function runCursor(position: readonly [string, string]): string {
  return JSON.stringify(position);
}

/** The position a cursor names; `E_INVALID_ARGUMENT` (field `cursor`) when it is not one `listRuns` answered. */
export function parseRunCursor(cursor: string): [string, string] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(cursor);
  } catch {
    parsed = undefined;
  }
  if (Array.isArray(parsed) && parsed.length === 2 && typeof parsed[0] === 'string' && typeof parsed[1] === 'string') {
    return [parsed[0], parsed[1]];
  }
  throw new SchedkitError(ErrorCode.InvalidArgument, messages.invalidArgument('listRuns', 'cursor', 'not a cursor listRuns answered'), {
    details: { field: 'cursor' },
  });
}
