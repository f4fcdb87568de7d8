/**
 * schedkit as every benchmark builds it: by hand from src/ (the same code as
 * the package, without loading the container layer, which halves process
 * start-up), with no-op metrics and, unless given, a no-op logger: their cost
 * is the application's choice, not the scheduler's.
 */
import {
  DefaultJobExecutor,
  MemoryBackend,
  MemoryLock,
  NoopLogger,
  NoopMetrics,
  RedisBackend,
  RedlockLock,
  Scheduler,
  SystemClock,
  resolveConfig,
  type Backend,
  type DistributedLock,
  type Logger,
  type SchedulerConfigInput,
} from 'schedkit';

/** A scheduler on `backend` and `lock`, with the system clock. */
export function benchScheduler(backend: Backend, lock: DistributedLock, config: SchedulerConfigInput, logger: Logger = new NoopLogger()): Scheduler {
  const clock = new SystemClock();
  const metrics = new NoopMetrics();
  return new Scheduler({
    config: resolveConfig(config),
    backend,
    lock,
    executor: new DefaultJobExecutor({ clock, logger, metrics }),
    clock,
    logger,
    metrics,
  });
}

/** A scheduler on the memory backend and lock. */
export function memoryScheduler(config: SchedulerConfigInput, logger?: Logger): Scheduler {
  const clock = new SystemClock();
  return benchScheduler(new MemoryBackend({ clock }), new MemoryLock({ clock }), config, logger);
}

/** A scheduler on Redis at `url` (one master for the lock), connected; `close` stops it and disconnects. */
export async function redisScheduler(
  url: string,
  prefix: string,
  config: SchedulerConfigInput,
  logger?: Logger,
): Promise<{ scheduler: Scheduler; close: () => Promise<void> }> {
  const backend = new RedisBackend({ connection: { url }, prefix });
  const lock = new RedlockLock({ masters: [{ url }], prefix, clock: new SystemClock() });
  await backend.connect();
  await lock.connect();
  const scheduler = benchScheduler(backend, lock, config, logger);
  return {
    scheduler,
    close: async () => {
      await scheduler.stop();
      await lock.close();
      await backend.close();
    },
  };
}
