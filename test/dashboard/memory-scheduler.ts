import { MemoryBackend } from '../../src/backend/memory/memory-backend.js';
import { SystemClock } from '../../src/clock/clock.js';
import { resolveConfig } from '../../src/config/config.js';
import { DefaultJobExecutor } from '../../src/executor/default-job-executor.js';
import { MemoryLock } from '../../src/lock/memory-lock.js';
import { NoopMetrics } from '../../src/observability/metrics.js';
import { RecordingLogger } from '../../src/observability/recording-logger.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';

/** A scheduler built by hand on the memory backend, on real time, polling every 50 ms. */
export function memoryScheduler(): Scheduler {
  const clock = new SystemClock();
  const logger = new RecordingLogger();
  const metrics = new NoopMetrics();
  return new Scheduler({
    config: resolveConfig({ pollIntervalMs: 50 }),
    backend: new MemoryBackend({ clock }),
    lock: new MemoryLock({ clock }),
    executor: new DefaultJobExecutor({ clock, logger, metrics }),
    clock,
    logger,
    metrics,
  });
}
