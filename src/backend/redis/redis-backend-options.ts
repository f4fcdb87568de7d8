import type { Cluster, Redis } from 'ioredis';
import { ConfigError } from '../../errors/schedkit-error.js';
import { messages, show, type ConnectedBy } from '../../errors/messages.js';
import type { RedisClient, RedisConnection } from '../../redis/connection.js';
import { NAME_CHARSET_TEXT, PREFIX_PATTERN } from '../../job/job-key.js';
import { DEFAULT_PREFIX } from './keys.js';

/**
 * The options of `RedisBackend` and their one-pass check. Separate from the
 * backend because validating what a user passed in has nothing to do with
 * talking to Redis: every problem is collected and reported at construction.
 */

/** Options of `RedisBackend`: exactly one of `connection` and `client`. */
export interface RedisBackendOptions {
  /** How to reach Redis; the backend opens (and closes) its own connections with fail-fast options. */
  connection?: RedisConnection;
  /**
   * Bring your own client (standalone or Cluster). The backend registers its
   * scripts on it, opens a duplicate for pub/sub, and never closes it. Its
   * options decide how fast calls fail while Redis is down; ioredis
   * `keyPrefix` is not supported (use `prefix`).
   */
  client?: Redis | Cluster;
  /** Namespace of every key: `[A-Za-z0-9_.:-]{1,100}`. @default 'schedkit' */
  prefix?: string;
  /** History entries kept per job (oldest dropped first). @default 100 */
  historyLimit?: number;
  /**
   * Who calls `connect()`: `'caller'` (you, by hand) or `'app'` (a module's
   * start hook; `redisBackendModule` sets it). Only changes the fix named by
   * the "not connected" error. @default 'caller'
   */
  connectedBy?: ConnectedBy;
}

/** `RedisBackendOptions` checked, defaults filled in. */
export interface ResolvedRedisBackendOptions {
  readonly prefix: string;
  readonly historyLimit: number;
  readonly connection: RedisConnection | undefined;
  readonly client: RedisClient | undefined;
  readonly connectedBy: ConnectedBy;
}

/** Checks every option at once; throws one `ConfigError` listing every problem. */
export function resolveRedisBackendOptions(options: RedisBackendOptions): ResolvedRedisBackendOptions {
  const problems: string[] = [];
  if (typeof options !== 'object' || options === null) {
    throw new ConfigError([`expected an object, got ${show(options)}`], 'RedisBackendOptions');
  }
  const { connection, client } = options;
  if ((connection === undefined) === (client === undefined)) {
    problems.push('exactly one of connection and client must be given');
  }
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  if (typeof prefix !== 'string' || !PREFIX_PATTERN.test(prefix)) {
    problems.push(messages.redisBackendOption('prefix', `must be 1-100 characters from ${NAME_CHARSET_TEXT}`, prefix));
  }
  const historyLimit = options.historyLimit ?? 100;
  if (!Number.isInteger(historyLimit) || historyLimit < 1 || historyLimit > 1_000_000) {
    problems.push(messages.redisBackendOption('historyLimit', 'must be an integer from 1 to 1000000', historyLimit));
  }
  if (keyPrefixOf(connection, client) !== undefined) {
    problems.push(
      messages.redisBackendOption('keyPrefix', 'is not supported (keys must keep the namespace hash tag): use prefix', keyPrefixOf(connection, client)),
    );
  }
  const connectedBy = options.connectedBy ?? 'caller';
  if (connectedBy !== 'caller' && connectedBy !== 'app') {
    problems.push(messages.redisBackendOption('connectedBy', "must be 'caller' or 'app'", connectedBy));
  }
  if (problems.length > 0) throw new ConfigError(problems, 'RedisBackendOptions');
  return { prefix, historyLimit, connection, client, connectedBy };
}

/** ioredis `keyPrefix` in the given options or client (it would break the namespace's hash tag). */
function keyPrefixOf(connection: RedisConnection | undefined, client: RedisClient | undefined): string | undefined {
  const fromClient = (client?.options as { keyPrefix?: string; redisOptions?: { keyPrefix?: string } } | undefined);
  const fromConnection = connection?.options as { keyPrefix?: string; redisOptions?: { keyPrefix?: string } } | undefined;
  const found =
    fromClient?.keyPrefix || fromClient?.redisOptions?.keyPrefix || fromConnection?.keyPrefix || fromConnection?.redisOptions?.keyPrefix;
  return found === '' ? undefined : (found ?? undefined);
}
