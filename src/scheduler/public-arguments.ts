/**
 * Checks of the arguments of the scheduler's public calls: option objects
 * with known keys only, switches that are real booleans, tenants, instants
 * and job names. Kept apart from the scheduler so the facade reads as what
 * each call does, and every call refuses bad input with the same messages.
 */
import { ErrorCode, SchedkitError } from '../errors/schedkit-error.js';
import { messages, show } from '../errors/messages.js';
import { assertValidName, jobKey } from '../job/job-key.js';
import { parseInstant } from '../schedule/instant.js';
import type { TenantOptions } from './types.js';

export const TRIGGER_KEYS = new Set(['tenantId', 'params', 'at', 'id']);
export const REGISTER_KEYS = new Set(['replace']);
export const REMOVE_KEYS = new Set(['tenantId', 'everywhere']);
export const HISTORY_KEYS = new Set(['tenantId', 'limit']);
export const LIST_KEYS = new Set(['tenantId']);

/** The key of the job `name` (of `tenantId`), after checking both are valid names. */
export function keyOf(call: string, name: string, tenantId: string | undefined): string {
  assertValidName(name, `${call} name`, ErrorCode.InvalidArgument);
  if (tenantId !== undefined) assertValidName(tenantId, `${call} tenantId`, ErrorCode.InvalidArgument);
  return jobKey(name, tenantId);
}

/**
 * The tenant of `getJob`/`pause`/`resume`: `{ tenantId }` or nothing, as in
 * every other call. Anything else (a bare string, a number, unknown keys) is
 * refused rather than read as "no tenant", which would address another job.
 */
export function tenantOf(call: string, options: TenantOptions): string | undefined {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    const hint = typeof options === 'string' ? ` (pass { tenantId: ${show(options)} })` : '';
    throw new SchedkitError(ErrorCode.InvalidArgument, messages.invalidArgument(call, 'tenantId', `expected { tenantId }, got ${show(options)}${hint}`), {
      details: { field: 'tenantId' },
    });
  }
  checkOptions(call, options, LIST_KEYS);
  return options.tenantId;
}

/**
 * An instant as a `Date` or an ISO 8601 string with a zone: the rules of a
 * `{ at }` schedule (`parseInstant`), so `'1'` or `'March 7'` (which
 * `Date.parse` would guess at) and zone-less local times are refused.
 */
export function parseDate(value: unknown, call: string, field: string): number {
  try {
    return parseInstant(value);
  } catch (error) {
    throw new SchedkitError(ErrorCode.InvalidArgument, messages.invalidArgument(call, field, (error as Error).message), {
      details: { field },
    });
  }
}

/** Options of a public call: undefined or a plain object with known keys only (a typo is an error, not a no-op). */
export function checkOptions(call: string, options: unknown, known: ReadonlySet<string>): void {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new SchedkitError(ErrorCode.InvalidArgument, messages.invalidArgument(call, 'options', `expected an object, got ${show(options)}`), {
      details: { field: 'options' },
    });
  }
  for (const field of Object.keys(options)) {
    if (!known.has(field)) {
      throw new SchedkitError(
        ErrorCode.InvalidArgument,
        messages.invalidArgument(call, field, `unknown option (expected ${[...known].join(', ')})`),
        { details: { field } },
      );
    }
  }
}

export function checkBoolean(call: string, field: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'boolean') {
    throw new SchedkitError(ErrorCode.InvalidArgument, messages.invalidArgument(call, field, `expected true or false, got ${show(value)}`), {
      details: { field },
    });
  }
}
