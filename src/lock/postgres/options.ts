import type { Clock } from '../../clock/clock.js';
import { SystemClock } from '../../clock/clock.js';
import { ConfigError, SchedkitError } from '../../errors/schedkit-error.js';
import { messages } from '../../errors/messages.js';
import type { PostgresConnection } from '../../postgres/connection.js';
import { DEFAULT_SCHEMA, quotedSchema } from '../../postgres/schema-name.js';

/** `PostgresLock`'s settings besides the connection. */
export interface PostgresLockSettings {
  /**
   * The schema holding the lock's tables (`lock_leases`, `lock_waiters`):
   * lower-case letters, digits and `_`, not starting with a digit, at most
   * 63 characters. Shared with the backend's tables if you like: each part
   * has its own migrations. @default 'schedkit'
   */
  schema?: string;
  /**
   * Apply the lock's migrations before first use (track `lock`, in one
   * transaction under an advisory lock, so instances starting together do it
   * once). `false`: the tables must exist already; `postgresLockMigrationScript`
   * prints the SQL. @default true
   */
  migrate?: boolean;
  /**
   * Where waits, poll periods and `using`'s refresh periods are timed. Who
   * holds a lock, and until when, is decided by the database's clock only.
   * @default new SystemClock()
   */
  clock?: Clock;
}

/**
 * Options of `PostgresLock`: `{ connectionString }` (the lock makes its own
 * pool and ends it on `close()`) or the application's `{ pool }` (used,
 * never ended), plus the settings.
 */
export type PostgresLockOptions = PostgresConnection & PostgresLockSettings;

export interface ResolvedPostgresLockOptions {
  readonly connection: PostgresConnection;
  /** The plain schema name (wake-up payloads carry it). */
  readonly schemaName: string;
  /** The checked, double-quoted schema name, for statement text. */
  readonly schema: string;
  readonly migrate: boolean;
  readonly clock: Clock;
}

/** Validates and fills the options in one pass; every problem is reported at once (`E_CONFIG`). */
export function resolvePostgresLockOptions(options: PostgresLockOptions): ResolvedPostgresLockOptions {
  if (typeof options !== 'object' || options === null) throw new ConfigError(['options must be an object with connectionString or pool'], 'PostgresLock');
  const problems: string[] = [];
  const { schema: schemaName = DEFAULT_SCHEMA, migrate = true, clock = new SystemClock() } = options;
  const connection = connectionOf(options, problems);
  let schema = '';
  try {
    schema = quotedSchema(schemaName);
  } catch (error) {
    problems.push(SchedkitError.is(error) ? error.message : String(error));
  }
  if (typeof migrate !== 'boolean') problems.push(messages.postgresLockOption('migrate', 'must be a boolean', migrate));
  if (typeof clock !== 'object' || clock === null || typeof clock.now !== 'function' || typeof clock.setTimeout !== 'function' || typeof clock.clearTimeout !== 'function') {
    problems.push(messages.postgresLockOption('clock', 'must implement now, setTimeout and clearTimeout', clock));
  }
  if (problems.length > 0 || connection === undefined) throw new ConfigError(problems, 'PostgresLock');
  return Object.freeze({ connection, schemaName, schema, migrate, clock });
}

/** The connection part of the options: exactly one of `connectionString` and `pool`. */
function connectionOf(options: PostgresLockOptions, problems: string[]): PostgresConnection | undefined {
  const given = options as { connectionString?: unknown; pool?: unknown; poolOptions?: unknown };
  if (given.pool !== undefined && given.connectionString !== undefined) {
    problems.push('pass either connectionString or pool, not both');
    return undefined;
  }
  if (given.pool !== undefined) {
    const pool = given.pool as { connect?: unknown; query?: unknown } | null;
    if (typeof pool !== 'object' || pool === null || typeof pool.connect !== 'function' || typeof pool.query !== 'function') {
      problems.push(messages.postgresLockOption('pool', 'must be a pg.Pool', given.pool));
      return undefined;
    }
    return { pool: given.pool as Extract<PostgresConnection, { pool: unknown }>['pool'] };
  }
  if (typeof given.connectionString !== 'string' || given.connectionString.length === 0) {
    problems.push(messages.postgresLockOption('connectionString', 'must be a non-empty string (or pass pool)', given.connectionString));
    return undefined;
  }
  const poolOptions = given.poolOptions as Extract<PostgresConnection, { connectionString: string }>['poolOptions'];
  return poolOptions === undefined ? { connectionString: given.connectionString } : { connectionString: given.connectionString, poolOptions };
}
