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
 * | `Scheduler` | `Scheduler` | `new Scheduler({...})` |
 * | `Lifecycle` | `Lifecycle` | `new Lifecycle({...})` |
 * | `JobRegistrar` | `JobRegistrar` (multi-bound) | none |
 *
 * @example
 * container.rebind(TOKENS.Logger).toConstantValue(myLogger);
 * const scheduler = container.get<Scheduler>(TOKENS.Scheduler);
 */
export const TOKENS = {
  Logger: Symbol.for('schedkit/Logger'),
  MetricsCollector: Symbol.for('schedkit/MetricsCollector'),
  Clock: Symbol.for('schedkit/Clock'),
  Backend: Symbol.for('schedkit/Backend'),
  DistributedLock: Symbol.for('schedkit/DistributedLock'),
  JobExecutor: Symbol.for('schedkit/JobExecutor'),
  SchedulerConfig: Symbol.for('schedkit/SchedulerConfig'),
  Scheduler: Symbol.for('schedkit/Scheduler'),
  Lifecycle: Symbol.for('schedkit/Lifecycle'),
  JobRegistrar: Symbol.for('schedkit/JobRegistrar'),
} as const;

/** The name of one of the `TOKENS`. */
export type TokenName = keyof typeof TOKENS;

/**
 * The init hook of an app: every bound registrar (bind as many as you like)
 * runs, in binding order, before the scheduler starts.
 *
 * @example
 * container.bind<JobRegistrar>(TOKENS.JobRegistrar).toConstantValue({
 *   register: (scheduler) => scheduler.register({ name: 'cleanup', schedule: '0 * * * *', handler: cleanup }),
 * });
 */
export interface JobRegistrar {
  register(scheduler: Scheduler): void | Promise<void>;
}
