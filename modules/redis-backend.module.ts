import { ContainerModule } from 'inversify';
import type { Backend } from '../src/backend/backend.js';
import { RedisBackend } from '../src/backend/redis/redis-backend.js';
import type { Clock } from '../src/clock/clock.js';
import type { SchedulerConfig } from '../src/config/config.js';
import { ConfigError } from '../src/errors/schedkit-error.js';
import type { HookRegistry } from '../src/lifecycle/hook.js';
import type { DistributedLock } from '../src/lock/distributed-lock.js';
import { RedlockLock } from '../src/lock/redlock/redlock-lock.js';
import { PREFIX_PATTERN } from '../src/job/job-key.js';
import { show } from '../src/errors/messages.js';
import type { RedisConnection } from '../src/redis/connection.js';
import { bindOrRebind } from './binding.js';
import { TOKENS } from './tokens.js';

/** Options of `redisBackendModule`. */
export interface RedisBackendModuleOptions {
  /** `redis://` or `rediss://` URL. @default the bound `SchedulerConfig`'s `redisUrl` (`SCHEDKIT_REDIS_URL`) */
  url?: string;
  /** Instead of `url`: ioredis options (password, ACL username, TLS, Sentinel) or Cluster startup nodes. */
  connection?: RedisConnection;
  /**
   * Masters of the Redlock quorum, for locks on N independent Redis servers.
   * They guard lock groups and your own `DistributedLock` calls; to guard
   * every run by the quorum too (on top of its claim's lease in the
   * backend), set the scheduler's `lockRuns: true`.
   * @default the backend's own Redis (one master)
   */
  lockMasters?: RedisConnection[];
  /** Namespace of every key (all share the hash tag `{prefix}`). @default 'schedkit' */
  prefix?: string;
}

/**
 * Binds `Backend` to `RedisBackend` and `DistributedLock` to `RedlockLock`,
 * replacing the in-memory defaults: load it after `schedulerModule()`. Each
 * appends a lifecycle hook — `backend:redis` connects and loads the scripts
 * on start and quits on stop; `lock:redlock` opens the lock clients and closes
 * them — so on stop the scheduler drains first, then locks close, then Redis.
 *
 * @example
 * container.load(schedulerModule(), redisBackendModule({ url: process.env.REDIS_URL }));
 * // three independent masters for the lock quorum, guarding every run:
 * container.load(schedulerModule({ lockRuns: true }), redisBackendModule({ url, lockMasters: [{ url: a }, { url: b }, { url: c }] }));
 */
export function redisBackendModule(options: RedisBackendModuleOptions = {}): ContainerModule {
  checkOptions(options);
  const connectionFor = (config: SchedulerConfig): RedisConnection => {
    if (options.connection !== undefined) return options.connection;
    const url = options.url ?? config.redisUrl;
    if (url === undefined) {
      throw new ConfigError(['no Redis to connect to: pass url or connection, or set SCHEDKIT_REDIS_URL (redisUrl)'], 'redisBackendModule');
    }
    return { url };
  };

  return new ContainerModule((load) => {
    bindOrRebind<Backend>(load, TOKENS.Backend)
      .toResolvedValue(
        (config: SchedulerConfig, lifecycle: HookRegistry): Backend => {
          // connectedBy 'app': this module connects it in the start hook below, so
          // "not connected" tells the user to start the app rather than to call connect().
          const backend = new RedisBackend({ connection: connectionFor(config), prefix: options.prefix, historyLimit: config.historyLimit, connectedBy: 'app' });
          lifecycle.append({ name: 'backend:redis', onStart: () => backend.connect(), onStop: () => backend.close() });
          return backend;
        },
        [TOKENS.SchedulerConfig, TOKENS.Lifecycle],
      )
      .inSingletonScope();

    bindOrRebind<DistributedLock>(load, TOKENS.DistributedLock)
      .toResolvedValue(
        (config: SchedulerConfig, clock: Clock, lifecycle: HookRegistry): DistributedLock => {
          const lock = new RedlockLock({ masters: options.lockMasters ?? [connectionFor(config)], prefix: options.prefix, clock, connectedBy: 'app' });
          lifecycle.append({ name: 'lock:redlock', onStart: () => lock.connect(), onStop: () => lock.close() });
          return lock;
        },
        [TOKENS.SchedulerConfig, TOKENS.Clock, TOKENS.Lifecycle],
      )
      .inSingletonScope();
  });
}

const KNOWN_OPTIONS = new Set(['url', 'connection', 'lockMasters', 'prefix']);

/**
 * Every problem with the options, reported at once when the module is
 * created (like `schedulerModule`'s config), not at the first `get` or at
 * start, where a typo would surface as a connection failure.
 */
function checkOptions(options: RedisBackendModuleOptions): void {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new ConfigError([`expected an object, got ${show(options)}`], 'redisBackendModule');
  }
  const problems: string[] = [];
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) problems.push(`unknown option ${JSON.stringify(key)} (expected ${[...KNOWN_OPTIONS].join(', ')})`);
  }
  const { url, connection, lockMasters, prefix } = options;
  if (url !== undefined && connection !== undefined) problems.push('give either url or connection, not both');
  if (url !== undefined) {
    const why = urlProblem(url);
    if (why !== null) problems.push(`url ${why}, got ${show(url)}`);
  }
  if (connection !== undefined) {
    const why = connectionProblem(connection);
    if (why !== null) problems.push(`connection ${why}`);
  }
  if (lockMasters !== undefined) {
    if (!Array.isArray(lockMasters) || lockMasters.length === 0) {
      problems.push(`lockMasters must be a non-empty array of connections, got ${show(lockMasters)}`);
    } else {
      lockMasters.forEach((master: unknown, i) => {
        const why = connectionProblem(master);
        if (why !== null) problems.push(`lockMasters[${i}] ${why}`);
      });
    }
  }
  // The backend checks the prefix too, but only when it is built (at start).
  if (prefix !== undefined && (typeof prefix !== 'string' || !PREFIX_PATTERN.test(prefix))) {
    problems.push(`prefix must be 1-100 characters from [A-Za-z0-9_.:-] (no braces: it becomes the hash tag), got ${show(prefix)}`);
  }
  if (problems.length > 0) throw new ConfigError(problems, 'redisBackendModule');
}

/** Why `url` is not a `redis://` or `rediss://` URL, or null. */
function urlProblem(url: unknown): string | null {
  if (typeof url !== 'string' || !/^rediss?:\/\/\S+$/.test(url)) return 'must be a redis:// or rediss:// URL';
  try {
    new URL(url);
  } catch {
    return 'is not a valid URL';
  }
  return null;
}

/** Why `value` is not a `RedisConnection` (`{ url }`, `{ options }` or `{ cluster }`), or null. */
function connectionProblem(value: unknown): string | null {
  const shape = 'must be { url }, { options } or { cluster }';
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return `${shape}, got ${show(value)}`;
  const c = value as Record<string, unknown>;
  if (c.options !== undefined && (typeof c.options !== 'object' || c.options === null || Array.isArray(c.options))) {
    return `options must be an object of ioredis options, got ${show(c.options)}`;
  }
  if ('cluster' in c) return Array.isArray(c.cluster) && c.cluster.length > 0 ? null : `cluster must be a non-empty array of startup nodes, got ${show(c.cluster)}`;
  if ('url' in c) {
    const why = urlProblem(c.url);
    return why === null ? null : `url ${why}, got ${show(c.url)}`;
  }
  return c.options === undefined ? `${shape}, got an object with none of them` : null;
}
