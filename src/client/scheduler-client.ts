import type { Backend } from '../backend/backend.js';
import { AlignedClock } from '../clock/aligned-clock.js';
import { SystemClock, type Clock } from '../clock/clock.js';
import { resolveConfig, type SchedulerConfig, type SchedulerConfigInput } from '../config/config.js';
import { jobLabel, messages } from '../errors/messages.js';
import { ErrorCode, SchedkitError } from '../errors/schedkit-error.js';
import type { JsonValue, TriggerOptions } from '../job/job-definition.js';
import { NoopLogger, withoutUndefinedFields, type Logger } from '../observability/logger.js';
import { jobKeyOf, listJobInfos, readHistory, triggeredRun, triggerRequest } from '../scheduler/job-admin.js';
import { storedJobInfo } from '../scheduler/job-info.js';
import { checkOptions, keyOf, TRIGGER_KEYS } from '../scheduler/public-arguments.js';
import { RunAdmin } from '../scheduler/run-admin.js';
import type {
  CancelOptions,
  HistoryOptions,
  JobInfo,
  ListRunsOptions,
  RescheduleOptions,
  RunHistoryEntry,
  RunInfo,
  RunList,
  RunOptions,
  TenantOptions,
  TriggeredRun,
} from '../scheduler/types.js';

/** What a `SchedulerClient` is built from. */
export interface SchedulerClientDeps {
  /** The store the workers' schedulers use. */
  backend: Backend;
  /**
   * The settings it reads: `instanceId` (recorded in history as who
   * cancelled or moved a run), `maxParamsBytes`, `historyLimit`, and
   * `defaultRetry` (see `trigger`). A `SchedulerConfigInput` is resolved
   * (and checked) here. @default resolveConfig({})
   */
  config?: SchedulerConfigInput | SchedulerConfig;
  /** @default new SystemClock() */
  clock?: Clock;
  /** @default new NoopLogger() */
  logger?: Logger;
}

/**
 * Schedules and manages runs of jobs that other processes register and run,
 * without handlers and without running anything: a web process triggers,
 * lists, moves and cancels posts; the workers' schedulers run them. It only
 * talks to the backend, so it needs no `start` and holds no timers.
 *
 * It never creates a job or changes a definition: a job the store has never
 * seen is refused with `E_JOB_NOT_FOUND` (`trigger`, `pause`, `resume`;
 * `getJob` answers null). Its `JobInfo`s say `registeredHere: false`.
 *
 * @example
 * const backend = new RedisBackend({ url: process.env.REDIS_URL });
 * await backend.connect();
 * const client = new SchedulerClient({ backend });
 * const run = await client.trigger('publish-post', { tenantId: 'acme', at: '2026-03-01T15:00:00Z', id: 'post-42', params: { postId: 42 } });
 * await client.reschedule('post-42', { tenantId: 'acme', at: '2026-03-01T16:00:00Z' });
 * await client.cancel('post-42', { tenantId: 'acme' });
 */
export class SchedulerClient {
  /** The store it talks to. */
  readonly backend: Backend;
  private readonly config: SchedulerConfig;
  private readonly clock: AlignedClock;
  /** The first `reschedule` aligns the clock on the backend's; later ones reuse it. */
  private aligned: Promise<unknown> | undefined;
  private readonly runs: RunAdmin;

  constructor(deps: SchedulerClientDeps) {
    this.backend = deps.backend;
    this.config = resolveConfig(deps.config ?? {}, 'SchedulerClient');
    this.clock = new AlignedClock(deps.clock ?? new SystemClock());
    const log = withoutUndefinedFields(deps.logger ?? new NoopLogger()).child({ component: 'scheduler-client', instanceId: this.config.instanceId });
    this.runs = new RunAdmin({ backend: this.backend, instanceId: this.config.instanceId, now: () => this.backendNow(), log });
  }

  /** Recorded in history as who cancelled or moved a run. */
  get instanceId(): string {
    return this.config.instanceId;
  }

  /**
   * Enqueues one run of a stored job, now or `at`, with its own params; a
   * worker that has the job registered runs it, retried per the job's retry
   * policy there. With an `id` it runs once per id (`created: false` for a
   * repeat). The run's stall budget (how often a run whose instance died is
   * put back) is `max(config.defaultRetry.maxRetries + 1, 3)`: the client
   * does not know the job's own retry policy. Rejects with `E_JOB_NOT_FOUND`
   * when no scheduler has stored the job.
   */
  async trigger<P = JsonValue | undefined>(name: string, options: TriggerOptions<P> = {}): Promise<TriggeredRun> {
    checkOptions('trigger', options, TRIGGER_KEYS);
    const key = keyOf('trigger', name, options.tenantId);
    const { id, dueAt, params } = triggerRequest(options, jobLabel(name, options.tenantId), this.config.maxParamsBytes);
    const maxAttempts = Math.max(this.config.defaultRetry.maxRetries + 1, 3);
    try {
      const { run, created } = await this.backend.enqueueRun({ key, id, kind: 'trigger', dueAt, params, maxAttempts });
      return triggeredRun(run, created, name, options.tenantId);
    } catch (error) {
      if (SchedkitError.is(error, ErrorCode.JobNotFound)) throw notStored(name, options.tenantId, error);
      throw error;
    }
  }

  /** See `Scheduler.getRun`. */
  getRun(id: string, options: RunOptions = {}): Promise<RunInfo | null> {
    return this.runs.getRun(id, options);
  }

  /** See `Scheduler.listRuns`. */
  listRuns(options: ListRunsOptions = {}): Promise<RunList> {
    return this.runs.listRuns(options);
  }

  /** See `Scheduler.cancel`: with `abort: true` the instance running the run aborts it. */
  cancel(id: string, options: CancelOptions = {}): Promise<RunInfo> {
    return this.runs.cancel(id, options);
  }

  /** See `Scheduler.reschedule`; "the past" is by the backend's clock. */
  reschedule(id: string, options: RescheduleOptions): Promise<RunInfo> {
    return this.runs.reschedule(id, options);
  }

  /** Pauses a stored job cluster-wide (see `Scheduler.pause`); `E_JOB_NOT_FOUND` when none is stored. */
  async pause(name: string, options: TenantOptions = {}): Promise<void> {
    await this.setPaused('pause', name, options, true);
  }

  /** Resumes a stored job from its next slot (see `Scheduler.resume`); `E_JOB_NOT_FOUND` when none is stored. */
  async resume(name: string, options: TenantOptions = {}): Promise<void> {
    await this.setPaused('resume', name, options, false);
  }

  /**
   * Deletes a stored job everywhere, as `Scheduler.remove(name, { everywhere:
   * true })` does: its state, pending runs and history; every instance stops
   * running it at its next slot. Resolves false when none is stored. An
   * instance that still registers the job stores it again when it starts.
   */
  async remove(name: string, options: TenantOptions = {}): Promise<boolean> {
    return this.backend.removeJob(jobKeyOf('remove', name, options).key);
  }

  /** The stored job, or null when no scheduler has stored it. */
  async getJob(name: string, options: TenantOptions = {}): Promise<JobInfo | null> {
    const stored = await this.backend.getJob(jobKeyOf('getJob', name, options).key);
    return stored === null ? null : storedJobInfo(stored, false);
  }

  /** Every stored job (optionally of one tenant), ordered by tenant and name. */
  listJobs(filter: TenantOptions = {}): Promise<JobInfo[]> {
    return listJobInfos(this.backend, filter, () => false);
  }

  /** The job's newest runs first (see `Scheduler.history`). */
  history(name: string, options: HistoryOptions = {}): Promise<RunHistoryEntry[]> {
    return readHistory(this.backend, this.config.historyLimit, name, options);
  }

  private async setPaused(call: 'pause' | 'resume', name: string, options: TenantOptions, paused: boolean): Promise<void> {
    const { key, tenantId } = jobKeyOf(call, name, options);
    if (!(await this.backend.setPaused(key, paused))) throw notStored(name, tenantId);
  }

  private async backendNow(): Promise<number> {
    this.aligned ??= this.clock.align(() => this.backend.time()).catch((error: unknown) => {
      this.aligned = undefined;
      throw error;
    });
    await this.aligned;
    return this.clock.now();
  }
}

function notStored(name: string, tenantId: string | undefined, cause?: unknown): SchedkitError {
  return new SchedkitError(ErrorCode.JobNotFound, messages.jobNotStored(jobLabel(name, tenantId)), { cause, details: { name, tenantId } });
}
