import { Cluster, Redis, type ClusterNode, type ClusterOptions, type RedisOptions } from 'ioredis';
import { BackendUnavailableError, ErrorCode, SchedkitError } from '../errors/schedkit-error.js';

/**
 * How to reach Redis: a URL, ioredis options (standalone or Sentinel: pass
 * `sentinels` and `name`), or a Cluster's startup nodes. Connection options
 * (password, ACL `username`, `tls`, `commandTimeout`) pass through to
 * ioredis unchanged and win over schedkit's defaults.
 */
export type RedisConnection =
  | { url: string; options?: RedisOptions }
  | { options: RedisOptions }
  | { cluster: ClusterNode[]; options?: ClusterOptions };

export type RedisClient = Redis | Cluster;

/**
 * A command unanswered this long fails with E_BACKEND_UNAVAILABLE. ioredis
 * waits forever by default, so a Redis that is frozen (SIGSTOP, a VM paused,
 * a stuck failover) rather than gone would stall every call with no outage
 * seen. 5 s is far above any schedkit script (each handles at most a few
 * hundred jobs or runs, milliseconds of work) and Redis's own slow-log
 * scale; a reply still arriving later is matched and ignored by ioredis.
 * One timeout alone is not taken for an outage: the scheduler confirms it
 * with a probe first (`BackendHealth`), since an event loop blocked past the
 * timeout fails a command whose reply was already there.
 */
export const COMMAND_TIMEOUT_MS = 5_000;

/**
 * Options schedkit sets on every connection it opens, so a dead Redis makes
 * calls fail at once instead of queueing for minutes (ioredis defaults: an
 * offline queue and 20 retries per command, about 73 s). Reconnection keeps
 * going, with a backoff capped at 1 s, so recovery is quick.
 */
const FAIL_FAST: RedisOptions = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  commandTimeout: COMMAND_TIMEOUT_MS,
  lazyConnect: true,
  retryStrategy: (attempt: number) => Math.min(50 * 2 ** Math.min(attempt, 5), 1_000),
  // RESP2: plain reply shapes for scripts and pub/sub, whatever the server speaks.
  protocol: 2,
};

/** Opens a client with fail-fast options (the caller's own options win where both set one). */
export function createClient(connection: RedisConnection, role: string): RedisClient {
  if ('cluster' in connection) {
    const { redisOptions, ...rest } = connection.options ?? {};
    return new Cluster(connection.cluster, {
      lazyConnect: true,
      enableOfflineQueue: false,
      clusterRetryStrategy: (attempt: number) => Math.min(100 * attempt, 1_000),
      ...rest,
      redisOptions: { maxRetriesPerRequest: 1, commandTimeout: COMMAND_TIMEOUT_MS, protocol: 2, connectionName: `schedkit:${role}`, ...redisOptions },
    });
  }
  const options: RedisOptions = { ...FAIL_FAST, connectionName: `schedkit:${role}`, ...connection.options };
  return 'url' in connection ? new Redis(connection.url, options) : new Redis(options);
}

/** Connects (a lazy client) and resolves once it is ready for commands; rejects with `E_BACKEND_UNAVAILABLE`. */
export async function connectClient(client: RedisClient, what: string, timeoutMs = 10_000): Promise<void> {
  if (client.status === 'ready') return;
  // Errors are reported through our calls; an 'error' listener keeps ioredis
  // from printing every reconnection attempt.
  if (client.listenerCount('error') === 0) client.on('error', () => {});
  // ioredis rejects `connect()` with a bare "Connection is closed." when the
  // socket fails; the reason (a TLS certificate the client does not trust,
  // ECONNREFUSED, a bad password) only comes through the 'error' event.
  let socketError: unknown;
  const onError = (error: unknown): void => {
    socketError ??= error;
  };
  client.on('error', onError);
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.status === 'wait' ? client.connect() : waitReady(client),
      new Promise((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`not ready within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } catch (error) {
    const reason = socketError !== undefined && errorText(socketError) !== errorText(error) ? `${errorText(error)} (${errorText(socketError)})` : errorText(error);
    throw new BackendUnavailableError(`${what}: cannot connect to Redis: ${reason}`, socketError ?? error);
  } finally {
    clearTimeout(timer);
    client.off('error', onError);
  }
}

function waitReady(client: RedisClient): Promise<void> {
  return new Promise((resolve) => client.once('ready', () => resolve()));
}

/** Closes a client: QUIT when connected, a hard disconnect otherwise. Never rejects. */
export async function closeClient(client: RedisClient): Promise<void> {
  try {
    if (client.status === 'ready') await client.quit();
    else client.disconnect();
  } catch {
    client.disconnect();
  }
}

const CONNECTION_ERRORS = [
  'Connection is closed',
  "Stream isn't writeable",
  'max retries per request',
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'Command timed out',
  'None of startup nodes is available',
  'Cluster is not ready',
  'CLUSTERDOWN',
  'LOADING',
  'All sentinels are unreachable',
];

/** True for failures that mean "Redis could not be reached" (as opposed to a bad reply). */
export function isConnectionError(error: unknown): boolean {
  if (SchedkitError.is(error, ErrorCode.BackendUnavailable)) return true;
  const text = errorText(error);
  return CONNECTION_ERRORS.some((pattern) => text.toLowerCase().includes(pattern.toLowerCase()));
}

/** Wraps connection failures in `BackendUnavailableError` (`E_BACKEND_UNAVAILABLE`); other errors pass through. */
export function toBackendError(error: unknown, what: string): unknown {
  if (SchedkitError.is(error)) return error;
  if (isConnectionError(error)) return new BackendUnavailableError(`${what}: Redis unreachable: ${errorText(error)}`, error);
  return error;
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
