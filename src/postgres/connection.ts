import type { Pool, PoolClient, PoolConfig } from 'pg';
import { BackendUnavailableError, ErrorCode, SchedkitError } from '../errors/schedkit-error.js';

/**
 * How to reach PostgreSQL: a connection string (schedkit makes and ends its
 * own pool, with `pool` options passed to `pg.Pool`), or the application's
 * own `pg.Pool`, which schedkit uses and never ends.
 */
export type PostgresConnection = { connectionString: string; poolOptions?: Omit<PoolConfig, 'connectionString'> } | { pool: Pool };

/** A pool and whether schedkit made it (and so ends it). */
export interface OpenedPool {
  readonly pool: Pool;
  readonly owned: boolean;
}

/**
 * A query unanswered this long fails (`E_BACKEND_UNAVAILABLE`): node-postgres
 * waits forever by default, so a frozen server would stall every call with
 * no outage seen. Same bound as the Redis connection's command timeout.
 */
export const QUERY_TIMEOUT_MS = 5_000;
/** Waiting this long for a free connection of a pool schedkit made fails the call. */
const CONNECT_TIMEOUT_MS = 5_000;

/** The pool to use: the one given, or a new one (loading `pg`, an optional peer dependency). */
export async function openPool(connection: PostgresConnection): Promise<OpenedPool> {
  if ('pool' in connection) return { pool: connection.pool, owned: false };
  let PoolClass: typeof Pool;
  try {
    PoolClass = (await import('pg')).default.Pool;
  } catch (error) {
    throw pgMissing(error);
  }
  return { pool: newPool(PoolClass, connection.connectionString, connection.poolOptions), owned: true };
}

/** The `E_CONFIG` error of `pg` not installed. */
export function pgMissing(cause: unknown): SchedkitError {
  return new SchedkitError(ErrorCode.Config, 'the PostgreSQL backend needs the "pg" package: npm install pg', { cause });
}

/** A pool schedkit makes and ends: its timeouts bounded unless `poolOptions` say otherwise. */
export function newPool(PoolClass: typeof Pool, connectionString: string, poolOptions?: Omit<PoolConfig, 'connectionString'>): Pool {
  const pool = new PoolClass({
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    query_timeout: QUERY_TIMEOUT_MS,
    ...poolOptions,
    connectionString,
  });
  // An idle client that loses its connection emits 'error' on the pool; unheard, it would crash the process.
  pool.on('error', () => undefined);
  return pool;
}

/** Runs `work` in one transaction on one client of `pool`; rolls back when it throws. */
export async function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/**
 * The codes Node gives a TLS handshake that failed verification: OpenSSL's
 * certificate checks (an untrusted CA, an expired certificate ...) and the
 * host name check (`ERR_TLS_CERT_ALTNAME_INVALID`, among `ERR_TLS_*`).
 */
const TLS_VERIFY_CODES = new Set([
  'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY', 'CERT_SIGNATURE_FAILURE', 'CERT_NOT_YET_VALID', 'CERT_HAS_EXPIRED', 'ERROR_IN_CERT_NOT_BEFORE_FIELD',
  'ERROR_IN_CERT_NOT_AFTER_FIELD', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'CERT_CHAIN_TOO_LONG', 'CERT_REVOKED',
  'INVALID_CA', 'PATH_LENGTH_EXCEEDED', 'INVALID_PURPOSE', 'CERT_UNTRUSTED', 'CERT_REJECTED', 'HOSTNAME_MISMATCH',
]);

/**
 * Whether `error` says the server could not be reached or answered too
 * late, rather than that a statement was refused: connection refused or
 * reset, a timeout, a server shutting down (SQLSTATE class 08, 57P01-57P03),
 * or a server that turns new connections away because its connection limit
 * is reached (53300: "sorry, too many clients already", or a role's or a
 * database's CONNECTION LIMIT), or a TLS handshake that failed (a certificate the client does not trust or
 * for another host, a server without TLS): no database was reached.
 */
export function isConnectionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03' || code === '53300') return true;
    if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH'].includes(code)) return true;
    if (TLS_VERIFY_CODES.has(code) || code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_')) return true;
  }
  // The last two are node-postgres's own words for a server that refused or botched the TLS request.
  return /timeout|terminated|Connection terminated|not queryable|connection.*(ended|closed)|does not support SSL|error establishing an SSL connection/i.test(
    error.message,
  );
}

/** `error` as `E_BACKEND_UNAVAILABLE` when it is a connection failure, else unchanged. */
export function asUnavailable(error: unknown, what: string): unknown {
  if (!isConnectionError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new BackendUnavailableError(`PostgreSQL unavailable (${what}): ${message}`, error);
}
