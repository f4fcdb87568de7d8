import type { Backend, JobStatus, RunOutcome, RunState } from '../backend/backend.js';
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
  /**
   * Why a slot was skipped (`overlap`, `paused`, `excluded`, `rate-limited`),
   * or what changed a run that did not run (`cancelled`: `cancel`, or `abort`
   * for a running one; `rescheduled`: the previous `scheduledAt`, epoch ms as
   * text); else null.
   */
  reason: string | null;
  /** The error text of a failed run (at most 8 KiB), else null. */
  error: string | null;
  /** The instance that ran (or skipped) it. */
  instanceId: string;
  /** 1 for the first attempt, 2 for the first retry, ... */
  attempt: number;
}

/** A run as `getRun` and `listRuns` report it. */
export interface RunInfo {
  /** The run's id (a trigger's `id`, or the slot's first run id). */
  id: string;
  name: string;
  tenantId: string | undefined;
  kind: 'slot' | 'trigger';
  /** `pending`, `retrying` (pending for a later attempt), `running`, or `done` (finished, until the retention sweep). */
  state: RunState;
  scheduledAt: Date;
  dueAt: Date;
  attempt: number;
  /** How a finished run ended (`cancelled` for a cancelled one), else null. */
  outcome: RunOutcome | null;
  /** The instance running it, else null. */
  instanceId: string | null;
  /** The run's own params (a trigger's), or undefined for the job's. */
  params: JsonValue | undefined;
  /** A cancel reached it while running: it will not be retried. */
  cancelRequested: boolean;
}

/** Which run: its id, and the job's tenant; `name` is needed only for slot runs (one-off run ids name one run per tenant). */
export interface RunOptions extends TenantOptions {
  name?: string;
}

/** `listRuns`' filter and page. */
export interface ListRunsOptions extends TenantOptions {
  /** Runs of this job only. */
  name?: string;
  state?: 'pending' | 'running' | 'retrying';
  /** At most this many runs (1 to 1,000). @default 100 */
  limit?: number;
  /** The `cursor` of the previous page. */
  cursor?: string | null;
}

/** A page of `listRuns`, ordered by job then run id; `cursor` is null on the last page (a page may hold fewer than `limit` runs before that). */
export interface RunList {
  runs: RunInfo[];
  cursor: string | null;
}

/** `cancel`'s options. */
export interface CancelOptions extends RunOptions {
  /** Also stop a running run: its signal aborts with `CancelledError` (`E_CANCELLED`). */
  abort?: boolean;
}

/** `reschedule`'s options. */
export interface RescheduleOptions extends RunOptions {
  /** The new time (not in the past). */
  at: Date | string;
}

/** `backfill`'s range: every slot of the job's schedule from `from` to `to` (both inclusive, neither in the future). */
export interface BackfillOptions extends TenantOptions {
  from: Date | string;
  to: Date | string;
}

/** What `backfill` did. */
export interface BackfillResult {
  /** Slots in the range (after exclusions). */
  slots: number;
  /** Runs enqueued by this call. */
  enqueued: number;
  /** Slots that already had a run (in history, or a backfill run), left alone. */
  existing: number;
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
