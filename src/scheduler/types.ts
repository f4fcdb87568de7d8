import type { Backend, JobStatus, RunOutcome } from '../backend/backend.js';
import type { JsonValue, TriggerOptions } from '../job/job-definition.js';
import type { Clock } from '../clock/clock.js';
import type { SchedulerConfig } from '../config/config.js';
import type { JobExecutor } from '../executor/job-executor.js';
import type { DistributedLock } from '../lock/distributed-lock.js';
import type { Logger } from '../observability/logger.js';
import type { MetricsCollector } from '../observability/metrics.js';
import type { ScheduleDescriptor } from '../schedule/schedule.js';

// The types of the scheduler's public API.

/** Everything a scheduler is built from; each is an interface you can replace. */
export interface SchedulerDeps {
  config: SchedulerConfig;
  backend: Backend;
  lock: DistributedLock;
  executor: JobExecutor;
  clock: Clock;
  logger: Logger;
  metrics: MetricsCollector;
}

/** A job as the cluster sees it (`getJob`, `listJobs`). */
export interface JobInfo {
  name: string;
  tenantId: string | undefined;
  schedule: ScheduleDescriptor | null;
  status: JobStatus;
  nextRunAt: Date | null;
  lastRunAt: Date | null;
  lastDurationMs: number | null;
  lastError: string | null;
  runCount: number;
  failCount: number;
  skippedCount: number;
  /** Whether this scheduler instance has the job registered. */
  registeredHere: boolean;
}

/** What `trigger` returns. */
export interface TriggeredRun {
  /** The run's id (the given `id`, or a new uuid v7). */
  id: string;
  name: string;
  tenantId: string | undefined;
  dueAt: Date;
  /** False when a run with this id already existed: nothing was enqueued. */
  created: boolean;
  state: 'pending' | 'active' | 'done';
}

/** One run of a job as `history` reports it, newest first. */
export interface RunHistoryEntry {
  /** uuid v7 of this attempt. */
  runId: string;
  /** The run's stable id across attempts (a trigger's `id`, or the slot's run id). */
  id: string;
  /** `slot` for a scheduled run, `trigger` for a one-off run. */
  kind: 'slot' | 'trigger';
  /** The slot (or the trigger's due time) the run was for. */
  scheduledAt: Date;
  /** Null when the run never started (a skipped slot). */
  startedAt: Date | null;
  /** Null while the run is in flight. */
  finishedAt: Date | null;
  outcome: RunOutcome;
  /** The error text of a failed run (at most 8 KiB), else null. */
  error: string | null;
  /** The instance that ran (or skipped) it. */
  instanceId: string;
  /** 1 for the first attempt, 2 for the first retry, ... */
  attempt: number;
}

/** Where the scheduler is in its life: `stopped` -> `starting` -> `started` -> `stopping` -> `stopped`. */
export type SchedulerState = 'stopped' | 'starting' | 'started' | 'stopping';

/**
 * Which tenant's job a call addresses. Every call takes the tenant the same
 * way, as `{ tenantId }` in its options; leave it out for a job without a tenant.
 */
export interface TenantOptions {
  tenantId?: string;
}

/** `remove`'s options. */
export interface RemoveOptions extends TenantOptions {
  /** Also delete the job's stored state, so every instance stops running it. */
  everywhere?: boolean;
}

/** `history`'s options. */
export interface HistoryOptions extends TenantOptions {
  /** How many runs, newest first. @default config.historyLimit (also the most kept) */
  limit?: number;
}

/**
 * What `register` returns: the job's handle, typed by its params, so a
 * trigger of a known job checks its params at compile time.
 */
export interface RegisteredJob<P = JsonValue | undefined> {
  readonly name: string;
  readonly tenantId: string | undefined;
  /** `scheduler.trigger(name, { tenantId, ...options })` with this job's name and tenant. */
  trigger(options?: Omit<TriggerOptions<P>, 'tenantId'>): Promise<TriggeredRun>;
}
