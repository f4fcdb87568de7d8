// The library's public API (the part usable without a container). Explicit
// named exports only: what is not listed here is internal.

// Scheduler: the runtime handle
export {
  Scheduler,
  type SchedulerDeps,
  type SchedulerState,
  type JobInfo,
  type TriggeredRun,
  type RunHistoryEntry,
  type RemoveOptions,
  type TenantArg,
} from './scheduler/scheduler.js';
export type { SchedulerEvents, SchedulerEventName, SchedulerListener, RunEvent } from './scheduler/events.js';

// Jobs and schedules
export type {
  JobDefinition,
  JobHandler,
  RunContext,
  RegisterOptions,
  TriggerOptions,
  OverlapPolicy,
  MisfirePolicy,
  JsonValue,
  JsonObject,
} from './job/job-definition.js';
export type {
  Schedule,
  ScheduleInput,
  ScheduleDescriptor,
  ScheduleWindow,
  CronScheduleSpec,
  IntervalScheduleSpec,
  OnceScheduleSpec,
} from './schedule/schedule.js';
export { cronSchedule, type CronScheduleOptions } from './schedule/cron-schedule.js';
export { intervalSchedule, type IntervalScheduleOptions } from './schedule/interval-schedule.js';
export { onceSchedule } from './schedule/once-schedule.js';
export { parseDuration } from './schedule/duration.js';

// Execution
export type { JobExecutor, ExecutionRequest, ExecutionResult, ExecutionOutcome } from './executor/job-executor.js';
export { DefaultJobExecutor, type DefaultJobExecutorDeps } from './executor/default-job-executor.js';
export {
  retryDelayMs,
  resolveRetryPolicy,
  DEFAULT_RETRY_POLICY,
  type RetryOptions,
  type RetryPolicy,
  type BackoffStrategy,
  type Jitter,
} from './executor/retry-policy.js';

// Backends and locks
export type {
  Backend,
  StoredJob,
  JobStatus,
  RunOutcome,
  HistoryEntry,
  SlotClaim,
  SlotClaimResult,
  ClaimedRun,
  RunSummary,
  RunEnqueue,
  RunFinish,
  StalledRun,
  JobUpsert,
  JobUpsertResult,
  ActiveRunRef,
  DueRunsClaim,
  DueRunsClaimed,
  SweepResult,
} from './backend/backend.js';
export { jobStatus } from './backend/job-status.js';
export { MemoryBackend, type MemoryBackendOptions } from './backend/memory-backend.js';
export { RedisBackend, type RedisBackendOptions } from './backend/redis/redis-backend.js';
export { KeyTable, type KeyFilter } from './backend/key-filter.js';
export type { RedisConnection } from './redis/connection.js';
export type { DistributedLock, LockLease, AcquireOptions, UsingOptions } from './lock/distributed-lock.js';
export { MemoryLock, type MemoryLockOptions } from './lock/memory-lock.js';
export { RedlockLock, type RedlockLockOptions } from './lock/redlock-lock.js';
export { usingLock } from './lock/using-lock.js';

// Lifecycle
export { Lifecycle, type LifecycleOptions, type LifecycleState, type HookRuntime } from './lifecycle/lifecycle.js';
export type { Hook, HookRegistry } from './lifecycle/hook.js';

// Time
export { SystemClock, OffsetClock, type Clock, type TimerHandle } from './clock/clock.js';

// Configuration
export { defaultConfig, resolveConfig, type SchedulerConfig, type SchedulerConfigInput } from './config/config.js';
export { configFromEnv } from './config/config-from-env.js';

// Observability
export { NoopLogger, type Logger, type LogFields } from './observability/logger.js';
export { WinstonLogger, createWinstonLogger, type WinstonLoggerOptions } from './observability/winston-logger.js';
export { NoopMetrics, type MetricsCollector } from './observability/metrics.js';
export { InMemoryMetrics, type MetricsSnapshot } from './observability/in-memory-metrics.js';

// Errors
export {
  SchedkitError,
  ErrorCode,
  ConfigError,
  TimeoutError,
  LockLostError,
  ShutdownError,
  BackendUnavailableError,
  LifecycleError,
  type SchedkitErrorOptions,
} from './errors/schedkit-error.js';
