import { ErrorCode, SchedkitError } from '../errors/schedkit-error.js';

/** The schema schedkit's tables live in when none is given. */
export const DEFAULT_SCHEMA = 'schedkit';

/**
 * Lower-case letters, digits and `_`, not starting with a digit, at most 63
 * bytes (PostgreSQL's identifier limit). Narrower than what PostgreSQL
 * accepts quoted, on purpose: a schema name ends up in every statement's
 * text (identifiers cannot be bound parameters), so it is the one value that
 * must be checked rather than escaped.
 */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** `schema` checked and double-quoted, ready for statement text; `E_CONFIG` when it is not a plain name. */
export function quotedSchema(schema: string = DEFAULT_SCHEMA): string {
  if (typeof schema !== 'string' || !SCHEMA_NAME.test(schema)) {
    throw new SchedkitError(
      ErrorCode.Config,
      `schema must be lower-case letters, digits and "_", not starting with a digit, at most 63 characters; got ${JSON.stringify(schema)}`,
    );
  }
  return `"${schema}"`;
}
