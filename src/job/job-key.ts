import { ErrorCode, SchedkitError } from '../errors/schedkit-error.js';
import { messages } from '../errors/messages.js';

/**
 * The characters of every identifier schedkit stores or puts in key names
 * (job names, tenant ids, run ids, instance ids, key prefixes), as the body of
 * a regex character class. `/`, `#`, braces and spaces stay out: they separate
 * the parts of Redis key names and hash tags.
 */
export const NAME_CHARSET = 'A-Za-z0-9_.:-';

/** `NAME_CHARSET` as error messages show it. */
export const NAME_CHARSET_TEXT = `[${NAME_CHARSET}]`;

/** A pattern for 1 to `maxLength` characters of `NAME_CHARSET`. */
export function namePattern(maxLength: number): RegExp {
  return new RegExp(`^[${NAME_CHARSET}]{1,${maxLength}}$`);
}

/** Job names, tenant ids, run ids and instance ids: 1-200 characters. */
export const NAME_PATTERN = namePattern(200);

/** Key prefixes: 1-100 characters, so a prefix plus a key stays short. */
export const PREFIX_PATTERN = namePattern(100);

/** True when `value` is a valid job name, tenant id or run id: 1-200 of `[A-Za-z0-9_.:-]`. */
export function isValidName(value: unknown): value is string {
  return typeof value === 'string' && NAME_PATTERN.test(value);
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
