import { MemoryBackend } from '../../src/backend/memory/memory-backend.js';
import type { Backend } from '../../src/backend/backend.js';
import type { Clock } from '../../src/clock/clock.js';
import { FakeClock } from '../../src/clock/fake-clock.js';
import { resolveConfig, type SchedulerConfigInput } from '../../src/config/config.js';
import { DefaultJobExecutor, type DefaultJobExecutorDeps } from '../../src/executor/default-job-executor.js';
import type { JobExecutor } from '../../src/executor/job-executor.js';
import type { DistributedLock } from '../../src/lock/distributed-lock.js';
import { MemoryLock } from '../../src/lock/memory-lock.js';
import { InMemoryMetrics } from '../../src/observability/in-memory-metrics.js';
import { RecordingLogger } from '../../src/observability/recording-logger.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import type { RunContext } from '../../src/job/job-definition.js';

export const T0 = '2026-01-01T00:00:00.000Z';

/** One "instance": a scheduler with its own logger and metrics, on a shared backend, lock and clock. */
export interface Instance {
  scheduler: Scheduler;
  logger: RecordingLogger;
  metrics: InMemoryMetrics;
}

export interface World {
  clock: FakeClock;
  backend: Backend;
  lock: DistributedLock;
  /** Builds another instance sharing the backend, lock and clock. */
  instance(
    config?: SchedulerConfigInput,
    overrides?: { clock?: Clock; backend?: Backend; lock?: DistributedLock; executor?: (deps: DefaultJobExecutorDeps) => JobExecutor },
  ): Instance;
  /** Stops every instance built. */
  stopAll(): Promise<void>;
}

/** A backend, a lock and a fake clock shared by every instance of a test. */
export function createWorld(start: string = T0, backendOptions: { historyLimit?: number } = {}): World {
  const clock = new FakeClock(start);
  const backend = new MemoryBackend({ clock, ...backendOptions });
  const lock = new MemoryLock({ clock });
  const built: Scheduler[] = [];
  let n = 0;
  return {
    clock,
    backend,
    lock,
    instance(config = {}, overrides = {}) {
      const logger = new RecordingLogger();
      const metrics = new InMemoryMetrics();
      const instanceClock = overrides.clock ?? clock;
      const scheduler = new Scheduler({
        config: resolveConfig({ instanceId: `instance-${++n}`, ...config }),
        backend: overrides.backend ?? backend,
        lock: overrides.lock ?? lock,
        executor: (overrides.executor ?? ((deps) => new DefaultJobExecutor(deps)))({ clock: instanceClock, logger, metrics }),
        clock: instanceClock,
        logger,
        metrics,
      });
      built.push(scheduler);
      return { scheduler, logger, metrics };
    },
    async stopAll() {
      const stops = built.map((s) => s.stop());
      await clock.advance(60_000);
      await Promise.all(stops);
    },
  };
}

/** Records every call of a handler: when (by the clock) and with what context. */
export function recorder(clock: Clock, body?: (ctx: RunContext<unknown>) => unknown) {
  const calls: Array<{ at: number; ctx: RunContext<unknown> }> = [];
  const handler = (ctx: RunContext<unknown>) => {
    calls.push({ at: clock.now(), ctx });
    return body?.(ctx);
  };
  return { calls, handler };
}

/** A promise with its resolve/reject exposed, for handlers a test finishes by hand. */
export function deferred<T = void>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

export const iso = (ms: number) => new Date(ms).toISOString();
