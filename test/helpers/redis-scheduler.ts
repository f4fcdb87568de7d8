import { RedisBackend } from '../../src/backend/redis/redis-backend.js';
import { SystemClock, type Clock } from '../../src/clock/clock.js';
import { resolveConfig, type SchedulerConfigInput } from '../../src/config/config.js';
import { DefaultJobExecutor } from '../../src/executor/default-job-executor.js';
import { RedlockLock } from '../../src/lock/redlock/redlock-lock.js';
import type { Logger } from '../../src/observability/logger.js';
import type { MetricsCollector } from '../../src/observability/metrics.js';
import type { RedisConnection } from '../../src/redis/connection.js';
import { InMemoryMetrics } from '../../src/observability/in-memory-metrics.js';
import { RecordingLogger } from '../../src/observability/recording-logger.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';

export interface RedisInstance<L extends Logger, M extends MetricsCollector> {
  scheduler: Scheduler;
  backend: RedisBackend;
  lock: RedlockLock;
  logger: L;
  metrics: M;
  /** Stops the scheduler, then closes the lock and the backend. */
  close(): Promise<void>;
}

let counter = 0;

/** A scheduler built by hand on a RedisBackend and a RedlockLock (one master), both connected. */
export async function redisInstance<L extends Logger = RecordingLogger, M extends MetricsCollector = InMemoryMetrics>(options: {
  /** Either a URL or full connection options (TLS, ACL...) of the one server. */
  url?: string;
  connection?: RedisConnection;
  prefix: string;
  config?: SchedulerConfigInput;
  clock?: Clock;
  logger?: L;
  metrics?: M;
}): Promise<RedisInstance<L, M>> {
  const clock = options.clock ?? new SystemClock();
  const logger = options.logger ?? (new RecordingLogger() as unknown as L);
  const metrics = options.metrics ?? (new InMemoryMetrics() as unknown as M);
  const connection = options.connection ?? { url: options.url! };
  const backend = new RedisBackend({ connection, prefix: options.prefix });
  const lock = new RedlockLock({ masters: [connection], prefix: options.prefix, clock });
  await backend.connect();
  await lock.connect();
  const scheduler = new Scheduler({
    config: resolveConfig({ instanceId: `redis-instance-${++counter}`, ...options.config }),
    backend,
    lock,
    executor: new DefaultJobExecutor({ clock, logger, metrics }),
    clock,
    logger,
    metrics,
  });
  return {
    scheduler,
    backend,
    lock,
    logger,
    metrics,
    async close() {
      await scheduler.stop();
      await lock.close();
      await backend.close();
    },
  };
}
