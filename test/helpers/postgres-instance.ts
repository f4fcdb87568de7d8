import { PostgresBackend } from '../../src/backend/postgres/postgres-backend.js';
import { SystemClock } from '../../src/clock/clock.js';
import { resolveConfig, type SchedulerConfigInput } from '../../src/config/config.js';
import { DefaultJobExecutor } from '../../src/executor/default-job-executor.js';
import { PostgresLock } from '../../src/lock/postgres/postgres-lock.js';
import { InMemoryMetrics } from '../../src/observability/in-memory-metrics.js';
import { RecordingLogger } from '../../src/observability/recording-logger.js';
import type { PostgresConnection } from '../../src/postgres/connection.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';

export interface PostgresInstance {
  scheduler: Scheduler;
  backend: PostgresBackend;
  lock: PostgresLock;
  logger: RecordingLogger;
  /** Stops the scheduler, then closes the lock and the backend (each ends the pool it made). */
  close(): Promise<void>;
}

let counter = 0;

/**
 * A scheduler built by hand on a `PostgresBackend` and a `PostgresLock` of
 * one schema, both connected, not started. With `migrate: false` the lock's
 * `connect()` sends nothing: its first statement is the first acquire.
 */
export async function postgresInstance(options: {
  connection: PostgresConnection;
  schema: string;
  migrate?: boolean;
  config?: SchedulerConfigInput;
}): Promise<PostgresInstance> {
  const clock = new SystemClock();
  const logger = new RecordingLogger();
  const metrics = new InMemoryMetrics();
  const { connection, schema, migrate = true } = options;
  const backend = new PostgresBackend({ ...connection, schema, migrate });
  const lock = new PostgresLock({ ...connection, schema, migrate, clock });
  try {
    await backend.connect();
    await lock.connect();
  } catch (error) {
    await lock.close();
    await backend.close();
    throw error;
  }
  const scheduler = new Scheduler({
    config: resolveConfig({ instanceId: `pg-instance-${++counter}`, pollIntervalMs: 200, ...options.config }),
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
    async close() {
      await scheduler.stop();
      await lock.close();
      await backend.close();
    },
  };
}
