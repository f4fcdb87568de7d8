import { ErrorCode, SchedkitError } from '../errors/schedkit-error.js';
import { messages } from '../errors/messages.js';

const NAME = /^[A-Za-z0-9_.:-]{1,200}$/;

/** True when `value` is a valid job name, tenant id or run id: 1-200 of `[A-Za-z0-9_.:-]`. */
export function isValidName(value: unknown): value is string {
  return typeof value === 'string' && NAME.test(value);
}

/** Throws `code` (default `E_INVALID_JOB`) naming `field` unless `value` is a valid name. */
export function assertValidName(
  value: unknown,
  field: string,
  code: typeof ErrorCode.InvalidJob | typeof ErrorCode.InvalidArgument = ErrorCode.InvalidJob,
): asserts value is string {
  if (!isValidName(value)) {
    throw new SchedkitError(code, messages.invalidName(field, value), { details: { field } });
  }
}

/**
 * The storage identity of a job: `tenant/name`, or `/name` without a tenant.
 * `/` is outside the name charset, so no (tenant, name) pair can produce the
 * key of another pair, and no key can reach outside its namespace.
 */
export function jobKey(name: string, tenantId?: string): string {
  return `${tenantId ?? ''}/${name}`;
}

/** The inverse of `jobKey`. */
export function parseJobKey(key: string): { name: string; tenantId: string | undefined } {
  const slash = key.indexOf('/');
  const tenant = key.slice(0, slash);
  return { name: key.slice(slash + 1), tenantId: tenant === '' ? undefined : tenant };
}
