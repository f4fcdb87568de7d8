import type { Backend } from '../backend/backend.js';
import { KeyTable } from '../backend/key-table.js';
import type { AlignedClock } from '../clock/aligned-clock.js';
import type { SchedulerConfig } from '../config/config.js';
import { ErrorCode, SchedkitError } from '../errors/schedkit-error.js';
import { jobLabel, messages } from '../errors/messages.js';
import type { JobDefinition, JsonValue, RegisterOptions, TriggerOptions } from '../job/job-definition.js';
import { normalizeJob } from '../job/normalize-job.js';
import type { Logger } from '../observability/logger.js';
import { backfill } from './backfill.js';
import { closestJob } from './closest-name.js';
import type { SchedulerEventEmitter, SchedulerEventName, SchedulerListener } from './events.js';
import { jobKeyOf, listJobInfos, readHistory, triggeredRun, triggerRequest } from './job-admin.js';
import { storedJobInfo, unsyncedJobInfo } from './job-info.js';
import type { JobSync } from './job-sync.js';
import { nextAfter, stallAttempts } from './job-slots.js';
import type { JobEntry } from './job-entry.js';
import type { JobTimeline } from './job-timeline.js';
import { checkBoolean, checkOptions, keyOf, REGISTER_KEYS, REMOVE_KEYS, TRIGGER_KEYS } from './public-arguments.js';
import { RunAdmin } from './run-admin.js';
import type { RunRunner } from './run-runner.js';
import type { SchedulerLifecycle } from './scheduler-lifecycle.js';
import { wireScheduler } from './scheduler-wiring.js';
import type {
  BackfillOptions,
  BackfillResult,
  CancelOptions,
  HistoryOptions,
  JobInfo,
  ListRunsOptions,
  RegisteredJob,
  RemoveOptions,
  RescheduleOptions,
  RunHistoryEntry,
  RunInfo,
  RunList,
  RunOptions,
  SchedulerDeps,
  SchedulerState,
  TenantOptions,
  TriggeredRun,
} from './types.js';

// The facade's argument and result types, for callers that import the facade.
export type * from './types.js';

/**
 * The runtime handle: register jobs, trigger one-off runs, pause, resume,
 * inspect. Usable by hand (`new Scheduler({...})`) or through the container.
 *
 * How a slot runs: the due queue fires at the slot time; the scheduler takes
 * a concurrency permit, claims the slot in the backend (the claim is what
 * makes it once per slot cluster-wide), and hands the claimed run to the
 * `RunRunner` (lock, heartbeat, handler, outcome). The next slot is computed
 * from the slot, never from "now", so a late wake does not shift the series.
 *
 * @example
 * const scheduler = new Scheduler({ config: resolveConfig(), backend: new MemoryBackend(), lock: new MemoryLock(),
 *   executor, clock: new SystemClock(), logger: new NoopLogger(), metrics: new NoopMetrics() });
 * await scheduler.register({ name: 'report', schedule: '0 * * * *', handler: async (ctx) => { ... } });
 * await scheduler.start();
 */
export class Scheduler {
  private readonly config: SchedulerConfig;
  private readonly backend: Backend;
  /** Registered jobs by key; also the key filter of `claimDueRuns`. */
  private readonly jobs = new KeyTable<JobEntry>();
  /**
   * Lease for one-off runs claimed before we know their job: the longest
   * lockTtlMs registered (the run's first heartbeat sets its own).
   */
  private maxLeaseMs: number;
  // The parts this facade calls into (see scheduler-wiring.ts for what each does).
  private readonly clock: AlignedClock;
  private readonly log: Logger;
  private readonly events: SchedulerEventEmitter;
  private readonly runner: RunRunner;
  private readonly timeline: JobTimeline;
  private readonly sync: JobSync;
  private readonly lifecycle: SchedulerLifecycle;
  /** getRun, listRuns, cancel, reschedule (shared with `SchedulerClient`). */
  private readonly runs: RunAdmin;

  constructor(deps: SchedulerDeps) {
    this.config = deps.config;
    this.backend = deps.backend;
    this.maxLeaseMs = deps.config.lockTtlMs;
    ({ clock: this.clock, log: this.log, events: this.events, runner: this.runner, timeline: this.timeline, sync: this.sync, lifecycle: this.lifecycle } = wireScheduler(
      deps,
      this.jobs,
      () => this.maxLeaseMs,
    ));
    this.runs = new RunAdmin({
      backend: deps.backend,
      instanceId: deps.config.instanceId,
      now: () => this.clock.now(),
      log: this.log,
      onPendingCancelled: (run) => {
        deps.metrics.runCancelled(run.name, run.tenantId);
        const { name, tenantId, id, kind, scheduledAt, attempt } = run;
        this.events.emit('run:cancelled', { name, tenantId, id, runId: null, kind, scheduledAt, attempt, instanceId: this.instanceId, while: 'pending' });
      },
    });
  }

  get state(): SchedulerState {
    return this.lifecycle.state;
  }

  get instanceId(): string {
    return this.config.instanceId;
  }

  /** Runs whose outcome is not recorded yet, or whose handler has not settled, on this instance. */
  get inFlight(): number {
    return this.runner.size;
  }

  // ---------------------------------------------------------------- events

  on<E extends SchedulerEventName>(event: E, listener: SchedulerListener<E>): () => void {
    return this.events.on(event, listener);
  }

  once<E extends SchedulerEventName>(event: E, listener: SchedulerListener<E>): () => void {
    return this.events.once(event, listener);
  }

  off<E extends SchedulerEventName>(event: E, listener: SchedulerListener<E>): void {
    this.events.off(event, listener);
  }

  // ---------------------------------------------------------- registration

  /**
   * Registers a job on this instance. Every instance of a service registers
   * the same jobs; the backend makes each slot run once. Invalid input
   * rejects (`E_INVALID_JOB`, `E_INVALID_SCHEDULE`, `E_INVALID_PARAMS`) before
   * anything is stored; a second registration of the same identity rejects
   * with `E_DUPLICATE_JOB` unless `replace` is set. Before `start` the job is
   * only kept locally; after, the promise resolves once the backend has it.
   * Resolves to the job's handle, whose `trigger` checks params against `P`.
   */
  async register<P = JsonValue | undefined>(definition: JobDefinition<P>, options: RegisterOptions = {}): Promise<RegisteredJob<P>> {
    const job = normalizeJob(definition as unknown as JobDefinition<never>, this.config, this.clock.now());
    checkOptions('register', options, REGISTER_KEYS);
    // `replace` is a switch: a truthy non-boolean ('yes', 1) is more likely a
    // mistake than a wish to overwrite, so it is refused rather than coerced.
    checkBoolean('register', 'replace', options.replace);
    const previous = this.jobs.get(job.key);
    if (previous !== undefined && options.replace !== true) {
      throw new SchedkitError(ErrorCode.DuplicateJob, messages.duplicateJob(jobLabel(job.name, job.tenantId)), { details: { name: job.name, tenantId: job.tenantId } });
    }
    if (this.lifecycle.state === 'stopping') throw new SchedkitError(ErrorCode.Stopped, messages.stopped('register'));
    const entry: JobEntry = { job, definedAt: null, nextSlot: null, token: 0, done: false, answeredThrough: -Infinity };
    if (previous !== undefined) this.timeline.cancelSlots(previous);
    this.jobs.set(job.key, entry);
    this.maxLeaseMs = Math.max(this.maxLeaseMs, job.lockTtlMs);
    const handle = new JobHandle<P>(this, job.name, job.tenantId);
    if (this.lifecycle.state === 'starting') await this.lifecycle.starting?.catch(() => undefined);
    if (this.lifecycle.state !== 'started') return handle;
    try {
      await this.sync.upsertSoon(entry);
    } catch (error) {
      // The backend never got it: undo the local registration too.
      if (this.jobs.get(job.key) === entry) this.jobs.delete(job.key);
      this.timeline.cancelSlots(entry);
      if (previous !== undefined && !this.jobs.has(job.key)) {
        const restored: JobEntry = { ...previous, done: false };
        this.jobs.set(job.key, restored);
        this.timeline.queueNext(restored, nextAfter(restored.job, this.clock.now()));
      }
      throw error;
    }
    return handle;
  }

  /**
   * Stops running a job on this instance. With `everywhere: true` its stored
   * state, history and pending runs are deleted too, and every other instance
   * stops running it at its next slot. Resolves true when anything was removed.
   */
  async remove(name: string, options: RemoveOptions = {}): Promise<boolean> {
    checkOptions('remove', options, REMOVE_KEYS);
    // Checked before anything is removed: `everywhere: 'yes'` must not
    // silently remove the job here only.
    checkBoolean('remove', 'everywhere', options.everywhere);
    const key = keyOf('remove', name, options.tenantId);
    const entry = this.jobs.get(key);
    if (entry !== undefined) {
      this.jobs.delete(key);
      this.timeline.cancelSlots(entry);
    }
    let removedStored = false;
    if (options.everywhere === true) removedStored = await this.backend.removeJob(key);
    return entry !== undefined || removedStored;
  }

  /** Pauses a job cluster-wide: its slots pass without running until `resume`; pending runs wait. */
  async pause(name: string, options: TenantOptions = {}): Promise<void> {
    await this.setPaused('pause', name, options, true);
  }

  /** Resumes a paused job from its next slot (slots passed while paused are not caught up). */
  async resume(name: string, options: TenantOptions = {}): Promise<void> {
    await this.setPaused('resume', name, options, false);
  }

  /**
   * Enqueues one run of a registered job, now or `at`, with its own params.
   * The run is stored in the backend: any instance with the job may run it,
   * it survives the death of this one, and it is retried per the job's
   * retry policy. With an `id` it runs once per id: a second trigger with the
   * same id returns the existing run (`created: false`).
   */
  async trigger<P = JsonValue | undefined>(name: string, options: TriggerOptions<P> = {}): Promise<TriggeredRun> {
    this.refuseWhenStopping('trigger', true);
    checkOptions('trigger', options, TRIGGER_KEYS);
    const key = keyOf('trigger', name, options.tenantId);
    const entry = this.jobs.get(key);
    if (entry === undefined) throw this.notFound(name, options.tenantId);
    const { id, dueAt, params } = triggerRequest(options, jobLabel(entry.job.name, entry.job.tenantId), this.config.maxParamsBytes);
    this.refuseWhenStopping('trigger');
    await this.sync.ensureStored(entry);
    const { run, created } = await this.backend.enqueueRun({
      key,
      id,
      kind: 'trigger',
      dueAt,
      params,
      maxAttempts: stallAttempts(entry.job),
    });
    return triggeredRun(run, created, entry.job.name, entry.job.tenantId);
  }

  // --------------------------------------------------------- pending runs

  /** A run by id (`name` is needed for slot runs only), pending, running or finished and not yet swept; null when none. */
  getRun(id: string, options: RunOptions = {}): Promise<RunInfo | null> {
    return this.runs.getRun(id, options);
  }

  /** Pending, retrying and running runs, optionally of one job or tenant, a page at a time (ordered by job, then run id). */
  listRuns(options: ListRunsOptions = {}): Promise<RunList> {
    return this.runs.listRuns(options);
  }

  /**
   * Cancels a pending or retrying run cluster-wide: it never starts, and
   * history records it. A running run is not retried; with `abort: true` its
   * signal aborts with `CancelledError` on whichever instance runs it.
   * Idempotent. Rejects with `E_RUN_NOT_FOUND`, or `E_RUN_FINISHED` for a
   * run that ended before (nothing changed).
   */
  cancel(id: string, options: CancelOptions = {}): Promise<RunInfo> {
    return this.runs.cancel(id, options);
  }

  /**
   * Moves a pending or retrying run to `at` (not in the past), recorded in
   * history. Idempotent. Rejects with `E_RUN_NOT_FOUND`, `E_RUN_RUNNING` or
   * `E_RUN_FINISHED` (nothing changed).
   */
  reschedule(id: string, options: RescheduleOptions): Promise<RunInfo> {
    return this.runs.reschedule(id, options);
  }

  /**
   * Enqueues one run for each slot of the job's schedule from `from` to `to`
   * (both inclusive, in the past, at most 10,000 slots) that no exclusion
   * matches and that has no run in the ledger, each with its slot as
   * `ctx.scheduledAt`. Idempotent: twice (on any instance) enqueues once.
   */
  backfill(name: string, options: BackfillOptions): Promise<BackfillResult> {
    this.refuseWhenStopping('backfill', true);
    const deps = { backend: this.backend, clock: this.clock, config: this.config, jobs: this.jobs, sync: this.sync, notFound: (n: string, t: string | undefined) => this.notFound(n, t) };
    return backfill(deps, name, options);
  }

  // ------------------------------------------------------------ inspection

  /** The cluster's view of a job, or null when it is neither stored nor registered here. */
  async getJob(name: string, options: TenantOptions = {}): Promise<JobInfo | null> {
    const { key } = jobKeyOf('getJob', name, options);
    const stored = await this.backend.getJob(key);
    if (stored !== null) return storedJobInfo(stored, this.jobs.has(stored.key));
    const entry = this.jobs.get(key);
    if (entry === undefined) return null;
    // Registered but not yet synced (before start).
    return unsyncedJobInfo(entry.job, this.clock.now());
  }

  /** Every stored job (optionally of one tenant), ordered by tenant and name. */
  listJobs(filter: TenantOptions = {}): Promise<JobInfo[]> {
    return listJobInfos(this.backend, filter, (key) => this.jobs.has(key));
  }

  /** The job's newest runs first: outcome, timings, instance, attempt. */
  history(name: string, options: HistoryOptions = {}): Promise<RunHistoryEntry[]> {
    return readHistory(this.backend, this.config.historyLimit, name, options);
  }

  // -------------------------------------------------------------- lifecycle

  /**
   * Syncs registered jobs to the backend, applies the misfire policy to
   * slots missed while nothing ran, and starts dispatching. Idempotent; a
   * concurrent call shares the start in flight.
   */
  start(): Promise<void> {
    return this.lifecycle.start();
  }

  /**
   * Stops dispatching, lets runs in flight finish for up to
   * `shutdownTimeoutMs`, then aborts the rest with `ShutdownError` (their
   * one-off runs go back to the backend for another instance) and releases
   * every lock. Idempotent; a concurrent call shares the stop in flight.
   * The process stays alive until the stop has finished.
   */
  stop(): Promise<void> {
    return this.lifecycle.stop();
  }

  // ------------------------------------------------------------ helpers

  private async setPaused(call: 'pause' | 'resume', name: string, options: TenantOptions, paused: boolean): Promise<void> {
    const { key, tenantId } = jobKeyOf(call, name, options);
    this.refuseWhenStopping(call);
    const entry = this.jobs.get(key);
    if (entry !== undefined) await this.sync.ensureStored(entry);
    if (!(await this.backend.setPaused(key, paused))) throw this.notFound(name, tenantId);
  }

  /**
   * Refuses `call` while stopping; with `afterStop`, also once stopped after
   * a start: this instance would never run what it stored. Before the first
   * start it is accepted (an init hook may queue work for the start).
   */
  private refuseWhenStopping(call: string, afterStop = false): void {
    if (this.lifecycle.state === 'stopping') throw new SchedkitError(ErrorCode.Stopped, messages.stopped(call));
    if (afterStop && this.lifecycle.state === 'stopped' && this.lifecycle.starting !== undefined) {
      throw new SchedkitError(ErrorCode.NotStarted, messages.stoppedAfterStart(call));
    }
  }

  private notFound(name: string, tenantId: string | undefined): SchedkitError {
    const registered = Array.from(this.jobs.values(), (entry) => entry.job);
    const closest = closestJob(name, tenantId, registered);
    // Named as jobLabel names jobs: `report`, or `acme/report` in another tenant.
    const suggestion = closest === undefined ? undefined : closest.tenantId === undefined ? closest.name : `${closest.tenantId}/${closest.name}`;
    return new SchedkitError(ErrorCode.JobNotFound, messages.jobNotFound(jobLabel(name, tenantId), suggestion), {
      details: { name, tenantId, ...(closest === undefined ? {} : { suggestion: { name: closest.name, tenantId: closest.tenantId } }) },
    });
  }
}

/**
 * What `register` resolves to. A class rather than an object with a closure:
 * a closure here would keep the whole `register` frame alive per job, which
 * costs a registration of 100,000 jobs about a fifth more time.
 */
class JobHandle<P> implements RegisteredJob<P> {
  constructor(
    private readonly scheduler: Scheduler,
    readonly name: string,
    readonly tenantId: string | undefined,
  ) {}

  trigger(options: Omit<TriggerOptions<P>, 'tenantId'> = {}): Promise<TriggeredRun> {
    return this.scheduler.trigger<P>(this.name, { ...options, tenantId: this.tenantId });
  }
}
