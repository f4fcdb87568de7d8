import type { Pool, PoolConfig } from 'pg';
import { ConfigError, SchedkitError } from '../../errors/schedkit-error.js';
import { messages, show, type ConnectedBy } from '../../errors/messages.js';
import type { PostgresConnection } from '../../postgres/connection.js';
import { DEFAULT_SCHEMA, quotedSchema } from '../../postgres/schema-name.js';

/**
 * The options of `PostgresBackend` and their one-pass check. Separate from the
 * backend because validating what a user passed in has nothing to do with
 * talking to PostgreSQL: every problem is collected and reported at
 * construction.
 */

/** Options of `PostgresBackend`: exactly one of `connectionString` and `pool`. */
export interface PostgresBackendOptions {
  /** Where PostgreSQL is; the backend makes (and ends, on close) its own pool. */
  connectionString?: string;
  /** Options of the pool made from `connectionString` (`pg.Pool`'s, but the connection string). */
  poolOptions?: Omit<PoolConfig, 'connectionString'>;
  /**
   * The application's own `pg.Pool`: used, never ended. The backend keeps one
   * of its connections checked out for `LISTEN` while connected.
   */
  pool?: Pool;
  /** Schema of every table and function: lower-case letters, digits and `_`. @default 'schedkit' */
  schema?: string;
  /**
   * Apply the migrations of track `backend` on `connect()` (under an advisory
   * lock, in one transaction). `false`: the tables must exist already
   * (`postgresBackendMigrationScript(schema)` prints the SQL). @default true
   */
  migrate?: boolean;
  /** History entries kept per job (oldest dropped first). @default 100 */
  historyLimit?: number;
  /**
   * Who calls `connect()`: `'caller'` (you, by hand) or `'app'` (a module's
   * start hook). Only changes the fix named by the "not connected" error. @default 'caller'
   */
  connectedBy?: ConnectedBy;
}

/** `PostgresBackendOptions` checked, defaults filled in. */
export interface ResolvedPostgresBackendOptions {
  readonly connection: PostgresConnection;
  /** The schema name as given (checked). */
  readonly schemaName: string;
  /** The schema name quoted, for statement text. */
  readonly schema: string;
  readonly migrate: boolean;
  readonly historyLimit: number;
  readonly connectedBy: ConnectedBy;
}

/** Checks every option at once; throws one `ConfigError` listing every problem. */
export function resolvePostgresBackendOptions(options: PostgresBackendOptions): ResolvedPostgresBackendOptions {
  if (typeof options !== 'object' || options === null) {
    throw new ConfigError([`expected an object, got ${show(options)}`], 'PostgresBackendOptions');
  }
  const problems: string[] = [];
  const { connectionString, pool, poolOptions } = options;
  if ((connectionString === undefined) === (pool === undefined)) {
    problems.push('exactly one of connectionString and pool must be given');
  } else if (connectionString !== undefined && (typeof connectionString !== 'string' || connectionString === '')) {
    problems.push(messages.postgresBackendOption('connectionString', 'must be a non-empty string', connectionString));
  }
  if (pool !== undefined && poolOptions !== undefined) problems.push('poolOptions apply to a pool made from connectionString, not to a pool given');
  const schemaName = options.schema ?? DEFAULT_SCHEMA;
  let schema = '';
  try {
    schema = quotedSchema(schemaName);
  } catch (error) {
    problems.push(`schema: ${error instanceof SchedkitError ? error.message : String(error)}`);
  }
  const migrate = options.migrate ?? true;
  if (typeof migrate !== 'boolean') problems.push(messages.postgresBackendOption('migrate', 'must be a boolean', migrate));
  const historyLimit = options.historyLimit ?? 100;
  if (!Number.isInteger(historyLimit) || historyLimit < 1 || historyLimit > 1_000_000) {
    problems.push(messages.postgresBackendOption('historyLimit', 'must be an integer from 1 to 1000000', historyLimit));
  }
  const connectedBy = options.connectedBy ?? 'caller';
  if (connectedBy !== 'caller' && connectedBy !== 'app') {
    problems.push(messages.postgresBackendOption('connectedBy', "must be 'caller' or 'app'", connectedBy));
  }
  if (problems.length > 0) throw new ConfigError(problems, 'PostgresBackendOptions');
  const connection: PostgresConnection =
    pool !== undefined ? { pool } : { connectionString: connectionString!, ...(poolOptions === undefined ? {} : { poolOptions }) };
  return { connection, schemaName, schema, migrate, historyLimit, connectedBy };
}
