import type { Backend } from '../src/backend/backend.js';
import type { SchedulerClient } from '../src/client/scheduler-client.js';
import type { Clock } from '../src/clock/clock.js';
import type { SchedulerConfig } from '../src/config/config.js';
import type { JobExecutor } from '../src/executor/job-executor.js';
import type { Lifecycle } from '../src/lifecycle/lifecycle.js';
import type { DistributedLock } from '../src/lock/distributed-lock.js';
import type { Logger } from '../src/observability/logger.js';
import type { MetricsCollector } from '../src/observability/metrics.js';
import type { Scheduler } from '../src/scheduler/scheduler.js';

/**
 * Service identifiers of everything schedkit binds. They are registry
 * symbols (`Symbol.for('schedkit/<Name>')`), so two copies of the package in
 * one process still agree on them.
 *
 * | token | type | default (from `schedulerModule`) |
 * |---|---|---|
 * | `Logger` | `Logger` | `createWinstonLogger()`, flushed by hook `logger` |
 * | `MetricsCollector` | `MetricsCollector` | `NoopMetrics` |
 * | `Clock` | `Clock` | `SystemClock` |
 * | `Backend` | `Backend` | `MemoryBackend`, hook `backend:memory` |
 * | `DistributedLock` | `DistributedLock` | `MemoryLock`, hook `lock:memory` |
 * | `JobExecutor` | `JobExecutor` | `DefaultJobExecutor`, hook `executor` |
 * | `SchedulerConfig` | `SchedulerConfig` | `resolveConfig(config)` |
 * | `Scheduler` | `Scheduler` | `new Scheduler({...})` (none with `{ client: true }`) |
 * | `SchedulerClient` | `SchedulerClient` | `new SchedulerClient({...})` (also with `{ client: true }`) |
 * | `Lifecycle` | `Lifecycle` | `new Lifecycle({...})` |
 * | `JobRegistrar` | `JobRegistrar` (multi-bound) | none |
 *
 * @example
 * container.rebind(TOKENS.Logger).toConstantValue(myLogger);
 * const scheduler = container.get(TOKENS.Scheduler); // typed: Scheduler
 */
export const TOKENS = {
  Logger: token<Logger>('Logger'),
  MetricsCollector: token<MetricsCollector>('MetricsCollector'),
  Clock: token<Clock>('Clock'),
  Backend: token<Backend>('Backend'),
  DistributedLock: token<DistributedLock>('DistributedLock'),
  JobExecutor: token<JobExecutor>('JobExecutor'),
  SchedulerConfig: token<SchedulerConfig>('SchedulerConfig'),
  Scheduler: token<Scheduler>('Scheduler'),
  SchedulerClient: token<SchedulerClient>('SchedulerClient'),
  Lifecycle: token<Lifecycle>('Lifecycle'),
  JobRegistrar: token<JobRegistrar>('JobRegistrar'),
} as const;

/**
 * A service identifier that carries the type it resolves to, so
 * `container.get(TOKENS.Scheduler)` is a `Scheduler` and
 * `container.bind(TOKENS.Logger).toConstantValue(x)` checks `x`. At run time
 * it is a plain registry symbol; the construct signature exists only in the
 * type, as the one shape Inversify's `ServiceIdentifier<T>` infers `T` from.
 */
export type Token<T> = symbol & (abstract new (...args: never[]) => T);

function token<T>(name: string): Token<T> {
  return Symbol.for(`schedkit/${name}`) as Token<T>;
}

/**
 * The init hook of an app: every bound registrar (bind as many as you like)
 * runs, in binding order, before the scheduler starts.
 *
 * @example
 * container.bind(TOKENS.JobRegistrar).toConstantValue({
 *   register: (scheduler) => scheduler.register({ name: 'cleanup', schedule: '0 * * * *', handler: cleanup }),
 * });
 */
export interface JobRegistrar {
  register(scheduler: Scheduler): void | Promise<unknown>;
}
