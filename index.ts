/**
 * `schedkit`: what an application uses. Every public name is listed here on
 * purpose; `api/schedkit.api.md` records them with their signatures and a
 * test fails when this list changes without the report.
 *
 * What a backend or lock author implements is in `schedkit/backend`
 * (./backend.ts); fakes for tests of your jobs are in `schedkit/testing`
 * (./testing.ts); the PostgreSQL backend, lock and module are in
 * `schedkit/postgres` (./postgres.ts); Prometheus metrics in
 * `schedkit/prometheus` (./prometheus.ts).
 */

// The runtime handle
export {
  Scheduler,
  type SchedulerDeps,
  type SchedulerState,
  type JobInfo,
  type RegisteredJob,
  type TriggeredRun,
  type RunHistoryEntry,
  type TenantOptions,
  type RemoveOptions,
  type HistoryOptions,
  type RunInfo,
  type RunOptions,
  type ListRunsOptions,
  type RunList,
  type CancelOptions,
  type RescheduleOptions,
  type BackfillOptions,
  type BackfillResult,
} from './src/scheduler/scheduler.js';
export { SchedulerClient, type SchedulerClientDeps } from './src/client/scheduler-client.js';
export type { SchedulerEvents, SchedulerEventName, SchedulerListener, RunEvent } from './src/scheduler/events.js';
export type { JobStatus, RunOutcome, RunState, RateLimit } from './src/backend/backend-records.js';

// Jobs and schedules
export type {
  JobDefinition,
  JobDefinitionFields,
  JobParamsField,
  JobHandler,
  RunContext,
  RegisterOptions,
  TriggerOptions,
  OverlapPolicy,
  MisfirePolicy,
  Exclusion,
  JsonValue,
  JsonObject,
} from './src/job/job-definition.js';
export type { RetryOptions, RetryPolicy, BackoffStrategy, Jitter } from './src/executor/retry-policy.js';
export type {
  Schedule,
  ScheduleInput,
  ScheduleDescriptor,
  ScheduleWindow,
  CronScheduleSpec,
  IntervalScheduleSpec,
  OnceScheduleSpec,
} from './src/schedule/schedule.js';
export { cronSchedule, type CronScheduleOptions } from './src/schedule/cron-schedule.js';
export { intervalSchedule, type IntervalScheduleOptions } from './src/schedule/interval-schedule.js';
export { onceSchedule } from './src/schedule/once-schedule.js';

// The parts a scheduler is built from (by hand, or rebound in the container)
export type { JobExecutor, ExecutionAttempt, ExecutionRequest, ExecutionResult, ExecutionOutcome } from './src/executor/job-executor.js';
export { DefaultJobExecutor, type DefaultJobExecutorDeps } from './src/executor/default-job-executor.js';
export type { Backend } from './src/backend/backend.js';
export { MemoryBackend, type MemoryBackendOptions } from './src/backend/memory/memory-backend.js';
export { RedisBackend, type RedisBackendOptions } from './src/backend/redis/redis-backend.js';
export type { RedisConnection } from './src/redis/connection.js';
export type { ConnectedBy } from './src/errors/messages.js';
export type { DistributedLock, LockLease, AcquireOptions, UsingOptions } from './src/lock/distributed-lock.js';
export { MemoryLock, type MemoryLockOptions } from './src/lock/memory-lock.js';
export { RedlockLock, type RedlockLockOptions } from './src/lock/redlock/redlock-lock.js';
export { SystemClock, type Clock, type TimerHandle } from './src/clock/clock.js';

// Lifecycle
export {
  Lifecycle,
  type LifecycleOptions,
  type LifecycleState,
  type LifecyclePhase,
  type HookRuntime,
} from './src/lifecycle/lifecycle.js';
export type { Hook, HookRegistry } from './src/lifecycle/hook.js';

// Configuration
export { defaultConfig, resolveConfig, type SchedulerConfig, type SchedulerConfigInput } from './src/config/config.js';
export { configFromEnv } from './src/config/config-from-env.js';

// Logs and metrics
export { NoopLogger, type Logger, type LogFields } from './src/observability/logger.js';
export { createWinstonLogger, type WinstonLogger, type WinstonLoggerOptions } from './src/observability/winston-logger.js';
export { NoopMetrics, type MetricsCollector } from './src/observability/metrics.js';

// The dashboard
export { Dashboard, type DashboardOptions } from './src/dashboard/dashboard.js';
export type { DashboardSource } from './src/dashboard/dashboard-source.js';

// Errors
export {
  SchedkitError,
  ErrorCode,
  ConfigError,
  TimeoutError,
  LockLostError,
  ShutdownError,
  CancelledError,
  BackendUnavailableError,
  LifecycleError,
  type SchedkitErrorOptions,
} from './src/errors/schedkit-error.js';

// The container layer (Inversify)
export { App, type AppOptions, type SignalSource } from './modules/app.js';
export { TOKENS, type Token, type JobRegistrar } from './modules/tokens.js';
export { schedulerModule, type SchedulerModuleOptions } from './modules/scheduler.module.js';
export { schedulerClientModule } from './modules/scheduler-client.module.js';
export { memoryBackendModule, type MemoryBackendModuleOptions } from './modules/memory-backend.module.js';
export { redisBackendModule, type RedisBackendModuleOptions } from './modules/redis-backend.module.js';
export { winstonLoggerModule, type WinstonLoggerModuleOptions } from './modules/winston-logger.module.js';
export { dashboardModule, type DashboardModuleOptions } from './modules/dashboard.module.js';
export { Scheduled, type ScheduledOptions } from './modules/decorators/scheduled.js';
