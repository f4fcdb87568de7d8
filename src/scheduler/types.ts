import type { Backend, HistoryEntry, JobStatus } from '../backend/backend.js';
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

/** A history entry with dates. */
export interface RunHistoryEntry extends Omit<HistoryEntry, 'scheduledAt' | 'startedAt' | 'finishedAt'> {
  scheduledAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

export type SchedulerState = 'stopped' | 'starting' | 'started' | 'stopping';

/** `remove`'s options. */
export interface RemoveOptions {
  tenantId?: string;
  /** Also delete the job's stored state, so every instance stops running it. */
  everywhere?: boolean;
}

/** A tenant id, or options carrying one: `getJob('x', 'acme')` and `getJob('x', { tenantId: 'acme' })` are the same. */
export type TenantArg = string | { tenantId?: string } | undefined;
