import { ContainerModule } from 'inversify';
import type { Backend } from '../src/backend/backend.js';
import { RedisBackend } from '../src/backend/redis/redis-backend.js';
import type { Clock } from '../src/clock/clock.js';
import type { SchedulerConfig } from '../src/config/config.js';
import { ConfigError } from '../src/errors/schedkit-error.js';
import type { HookRegistry } from '../src/lifecycle/hook.js';
import type { DistributedLock } from '../src/lock/distributed-lock.js';
import { RedlockLock } from '../src/lock/redlock-lock.js';
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
 * // three independent masters for the lock quorum:
 * container.load(schedulerModule(), redisBackendModule({ url, lockMasters: [{ url: a }, { url: b }, { url: c }] }));
 */
export function redisBackendModule(options: RedisBackendModuleOptions = {}): ContainerModule {
  if (options.url !== undefined && options.connection !== undefined) {
    throw new ConfigError(['give either url or connection, not both'], 'redisBackendModule');
  }
  if (options.lockMasters !== undefined && (!Array.isArray(options.lockMasters) || options.lockMasters.length === 0)) {
    throw new ConfigError(['lockMasters must be a non-empty array of connections'], 'redisBackendModule');
  }
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
          const backend = new RedisBackend({ connection: connectionFor(config), prefix: options.prefix, historyLimit: config.historyLimit });
          lifecycle.append({ name: 'backend:redis', onStart: () => backend.connect(), onStop: () => backend.close() });
          return backend;
        },
        [TOKENS.SchedulerConfig, TOKENS.Lifecycle],
      )
      .inSingletonScope();

    bindOrRebind<DistributedLock>(load, TOKENS.DistributedLock)
      .toResolvedValue(
        (config: SchedulerConfig, clock: Clock, lifecycle: HookRegistry): DistributedLock => {
          const lock = new RedlockLock({ masters: options.lockMasters ?? [connectionFor(config)], prefix: options.prefix, clock });
          lifecycle.append({ name: 'lock:redlock', onStart: () => lock.connect(), onStop: () => lock.close() });
          return lock;
        },
        [TOKENS.SchedulerConfig, TOKENS.Clock, TOKENS.Lifecycle],
      )
      .inSingletonScope();
  });
}
