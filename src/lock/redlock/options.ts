import type { Clock } from '../../clock/clock.js';
import { SystemClock } from '../../clock/clock.js';
import { ConfigError } from '../../errors/schedkit-error.js';
import { messages, type ConnectedBy } from '../../errors/messages.js';
import type { RedisConnection } from '../../redis/connection.js';

/** Options of `RedlockLock`. */
export interface RedlockLockOptions {
  /**
   * The Redis servers: one, or N independent masters (not replicas of each
   * other) of which a majority must agree. List them in the same order on
   * every instance (the first reachable one holds the waiting queues).
   * Lock clients fail fast; unless a connection sets its own, they use
   * `commandTimeout: 500` and `maxRetriesPerRequest: 0`, so a paused or
   * unreachable master costs at most that long and a call is never replayed
   * after a reconnection.
   */
  masters: RedisConnection[];
  /** Key namespace: keys are `{<prefix>}:lock:<resource>` and so on. @default 'schedkit' */
  prefix?: string;
  /** Where lease expiry and waits are measured. @default new SystemClock() */
  clock?: Clock;
  /** Share of the TTL allowed for clock drift between masters (redlock's `driftFactor`). @default 0.01 */
  driftFactor?: number;
  /**
   * Who calls `connect()`: `'caller'` (you, by hand) or `'app'` (a module's
   * start hook; `redisBackendModule` sets it). Only changes the fix named by
   * the "not connected" error. @default 'caller'
   */
  connectedBy?: ConnectedBy;
}

export interface ResolvedRedlockOptions {
  readonly masters: readonly RedisConnection[];
  readonly prefix: string;
  readonly clock: Clock;
  readonly driftFactor: number;
  readonly connectedBy: ConnectedBy;
}

const PREFIX = /^[A-Za-z0-9_.:-]{1,100}$/;

/** Validates and fills the options in one pass; every problem is reported at once (`E_CONFIG`). */
export function resolveRedlockOptions(options: RedlockLockOptions): ResolvedRedlockOptions {
  const problems: string[] = [];
  if (typeof options !== 'object' || options === null) throw new ConfigError(['options must be an object with masters'], 'RedlockLock');
  const { masters, prefix = 'schedkit', clock = new SystemClock(), driftFactor = 0.01, connectedBy = 'caller' } = options;
  if (!Array.isArray(masters) || masters.length === 0) {
    problems.push(messages.redlockOption('masters', 'must be a non-empty array of Redis connections', masters));
  } else {
    masters.forEach((master, i) => {
      if (!isConnection(master)) {
        problems.push(messages.redlockOption(`masters[${i}]`, 'must be { url }, { options } or { cluster }', master));
      }
    });
  }
  if (typeof prefix !== 'string' || !PREFIX.test(prefix)) {
    problems.push(messages.redlockOption('prefix', 'must be 1-100 characters from [A-Za-z0-9_.:-]', prefix));
  }
  if (typeof clock !== 'object' || clock === null || typeof clock.now !== 'function' || typeof clock.setTimeout !== 'function' || typeof clock.clearTimeout !== 'function') {
    problems.push(messages.redlockOption('clock', 'must implement now, setTimeout and clearTimeout', clock));
  }
  if (typeof driftFactor !== 'number' || !Number.isFinite(driftFactor) || driftFactor < 0 || driftFactor >= 0.5) {
    problems.push(messages.redlockOption('driftFactor', 'must be a number in [0, 0.5)', driftFactor));
  }
  if (connectedBy !== 'caller' && connectedBy !== 'app') {
    problems.push(messages.redlockOption('connectedBy', "must be 'caller' or 'app'", connectedBy));
  }
  if (problems.length > 0) throw new ConfigError(problems, 'RedlockLock');
  return Object.freeze({ masters: Object.freeze([...masters]), prefix, clock, driftFactor, connectedBy });
}

function isConnection(value: unknown): value is RedisConnection {
  if (typeof value !== 'object' || value === null) return false;
  const c = value as Record<string, unknown>;
  if ('cluster' in c) return Array.isArray(c.cluster) && c.cluster.length > 0;
  if ('url' in c) return typeof c.url === 'string' && c.url.length > 0;
  return typeof c.options === 'object' && c.options !== null;
}


/** `host:port` (never credentials) naming a master in messages. */
export function describeConnection(connection: RedisConnection): string {
  if ('cluster' in connection) {
    const first = connection.cluster[0];
    return typeof first === 'object' ? `cluster ${first.host ?? '127.0.0.1'}:${first.port ?? 6379}` : `cluster ${String(first)}`;
  }
  if ('url' in connection) {
    try {
      const url = new URL(connection.url);
      return `${url.hostname}:${url.port === '' ? 6379 : url.port}`;
    } catch {
      return 'redis';
    }
  }
  const o = connection.options;
  if (o.sentinels !== undefined) return `sentinel master ${o.name ?? ''}`;
  if (o.path !== undefined) return o.path;
  return `${o.host ?? '127.0.0.1'}:${o.port ?? 6379}`;
}

/** The connection with the lock clients' defaults under the caller's own options. */
export function withLockDefaults(connection: RedisConnection): RedisConnection {
  const defaults = { commandTimeout: 500, maxRetriesPerRequest: 0 };
  if ('cluster' in connection) {
    return { cluster: connection.cluster, options: { ...connection.options, redisOptions: { ...defaults, ...connection.options?.redisOptions } } };
  }
  if ('url' in connection) return { url: connection.url, options: { ...defaults, ...connection.options } };
  return { options: { ...defaults, ...connection.options } };
}
