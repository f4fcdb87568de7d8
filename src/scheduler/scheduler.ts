import { newRunId } from '../job/run-id.js';
import type { Backend, JobUpsert, SlotClaim, SlotClaimResult, StoredJob } from '../backend/backend.js';
import { jobStatus } from '../backend/job-status.js';
import { KeyTable } from '../backend/key-filter.js';
import { AlignedClock } from '../clock/aligned-clock.js';
import { keepProcessAlive } from '../clock/clock.js';
import type { SchedulerConfig } from '../config/config.js';
import { ErrorCode, SchedkitError } from '../errors/schedkit-error.js';
import { jobLabel, messages, show } from '../errors/messages.js';
import type { JobDefinition, JsonValue, RegisterOptions, TriggerOptions } from '../job/job-definition.js';
import { validateParams } from '../job/json-params.js';
import { assertValidName, jobKey } from '../job/job-key.js';
import { normalizeJob, type NormalizedJob } from '../job/normalize-job.js';
import type { Logger } from '../observability/logger.js';
import type { MetricsCollector } from '../observability/metrics.js';
import { parseInstant } from '../schedule/duration.js';
import { planSlots } from '../schedule/misfire.js';
import { scheduleFromDescriptor } from '../schedule/parse-schedule.js';
import { BackendHealth } from './backend-health.js';
import { CallBatcher } from './call-batcher.js';
import { ConcurrencyLimiter } from './concurrency-limiter.js';
import { DueQueue } from './due-queue.js';
import { SchedulerEventEmitter, type SchedulerEventName, type SchedulerListener } from './events.js';
import { DueRunsPoller } from './due-runs-poller.js';
import { Maintenance } from './maintenance.js';
import { Membership } from './membership.js';
import { RunRunner } from './run-runner.js';
import { UnansweredClaims } from './unanswered-claims.js';
import type {
  JobInfo,
  RemoveOptions,
  RunHistoryEntry,
  SchedulerDeps,
  SchedulerState,
  TenantArg,
  TriggeredRun,
} from './types.js';

export type { JobInfo, RemoveOptions, RunHistoryEntry, SchedulerDeps, SchedulerState, TenantArg, TriggeredRun };

/** A registered job and where this instance is in its schedule. */
interface JobEntry {
  job: NormalizedJob;
  /**
   * When the definition first reached the store, by the store's clock (newest
   * wins across instances); null until then: the store stamps it.
   */
  definedAt: number | null;
  /** The slot the queue will fire next, or null when none is queued. */
  nextSlot: number | null;
  /** Bumped whenever the queued slot is replaced, so stale queue items are ignored. */
  token: number;
  /** Removed, replaced, or no slot will ever come again. */
  done: boolean;
}

interface QueueItem {
  entry: JobEntry;
  token: number;
}

/** Earliest representable instant: the baseline of a once job that never ran. */
const BEGINNING_OF_TIME = -8.64e15;
const UPSERT_BATCH = 1000;
const TRIGGER_KEYS = new Set(['tenantId', 'params', 'at', 'id']);
const REGISTER_KEYS = new Set(['replace']);
const REMOVE_KEYS = new Set(['tenantId', 'everywhere']);
const HISTORY_KEYS = new Set(['tenantId', 'limit']);
const LIST_KEYS = new Set(['tenantId']);

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
  /** The local clock aligned on the backend's: slots are planned and fired on backend time. */
  private readonly clock: AlignedClock;
  private readonly log: Logger;
  private readonly metrics: MetricsCollector;
  private readonly events: SchedulerEventEmitter;
  private readonly limiter: ConcurrencyLimiter;
  private readonly claims: CallBatcher<SlotClaim, SlotClaimResult>;
  private readonly runner: RunRunner;
  private readonly queue: DueQueue<QueueItem>;
  private readonly health: BackendHealth;
  private readonly unanswered: UnansweredClaims;
  /** Jobs whose slot claim failed since the last recovery: re-planned by the next one. */
  private readonly claimFailed = new Set<JobEntry>();
  /** Registered jobs by key; also the key filter of `claimDueRuns`. */
  private readonly jobs = new KeyTable<JobEntry>();

  private current: SchedulerState = 'stopped';
  private startPromise: Promise<void> | undefined;
  private stopPromise: Promise<void> | undefined;
  private unsubscribe: (() => void) | undefined;
  private readonly poller: DueRunsPoller;
  private readonly maintenance: Maintenance;
  private readonly membership: Membership;
  private upsertQueue: Array<{ entry: JobEntry; done: (error?: unknown) => void }> = [];
  /**
   * Lease for one-off runs claimed before we know their job: the longest
   * lockTtlMs registered (the run's first heartbeat sets its own).
   */
  private maxLeaseMs: number;

  constructor(deps: SchedulerDeps) {
    this.config = deps.config;
    this.backend = deps.backend;
    this.clock = new AlignedClock(deps.clock);
    this.metrics = deps.metrics;
    this.log = deps.logger.child({ component: 'scheduler', instanceId: deps.config.instanceId });
    this.events = new SchedulerEventEmitter(this.log);
    this.maxLeaseMs = deps.config.lockTtlMs;
    // A freed permit may let a due one-off run start.
    this.claims = new CallBatcher('claimSlots', (claims) => deps.backend.claimSlots(claims));
    this.limiter = new ConcurrencyLimiter(deps.config.maxConcurrent, () => this.poller.permitFreed());
    // Healthy means both stores answer: the backend, and the lock (taken and
    // given back on a resource of our own), since nothing may run unlocked.
    const probe = async (): Promise<void> => {
      await deps.backend.time();
      const lease = await deps.lock.acquire(`probe:${deps.config.instanceId}`, { ttlMs: 1_000 });
      await lease?.release();
    };
    this.health = new BackendHealth(this.clock, this.log, this.events, probe, deps.config.pollIntervalMs, (since, outage) => this.recover(since, outage));
    this.runner = new RunRunner({ ...deps, clock: this.clock, events: this.events, onBackendError: (e) => this.health.report(e) });
    this.queue = new DueQueue(this.clock, (item, at) => this.onDue(item, at));
    this.unanswered = new UnansweredClaims(deps.backend, deps.config.instanceId, this.log);
    this.poller = new DueRunsPoller({
      backend: deps.backend,
      clock: this.clock,
      limiter: this.limiter,
      health: this.health,
      unanswered: this.unanswered,
      instanceId: deps.config.instanceId,
      pollIntervalMs: deps.config.pollIntervalMs,
      jobs: this.jobs,
      leaseMs: () => this.maxLeaseMs,
      backendNow: () => this.clock.now(),
      run: async (claimed) => {
        const entry = this.jobs.get(claimed.key);
        if (entry !== undefined) await this.runner.run(entry.job, claimed);
      },
    });
    this.membership = new Membership(deps.config.instanceId, deps.config.takeoverDelayMs);
    this.maintenance = new Maintenance({
      ...deps,
      clock: this.clock,
      logger: this.log,
      health: this.health,
      events: this.events,
      keys: () => this.jobs.keys(),
      membership: this.membership,
      align: () => this.clock.align(() => deps.backend.time()),
    });
  }

  get state(): SchedulerState {
    return this.current;
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
   */
  async register<P extends JsonValue | undefined = JsonValue | undefined>(
    definition: JobDefinition<P>,
    options: RegisterOptions = {},
  ): Promise<void> {
    const job = normalizeJob(definition as unknown as JobDefinition<never>, this.config);
    checkOptions('register', options, REGISTER_KEYS);
    // `replace` is a switch: a truthy non-boolean ('yes', 1) is more likely a
    // mistake than a wish to overwrite, so it is refused rather than coerced.
    checkBoolean('register', 'replace', options.replace);
    const previous = this.jobs.get(job.key);
    if (previous !== undefined && options.replace !== true) {
      throw new SchedkitError(ErrorCode.DuplicateJob, messages.duplicateJob(jobLabel(job.name, job.tenantId)), { details: { name: job.name, tenantId: job.tenantId } });
    }
    if (this.current === 'stopping') throw new SchedkitError(ErrorCode.Stopped, messages.stopped('register'));
    const entry: JobEntry = { job, definedAt: null, nextSlot: null, token: 0, done: false };
    if (previous !== undefined) this.retire(previous);
    this.jobs.set(job.key, entry);
    this.maxLeaseMs = Math.max(this.maxLeaseMs, job.lockTtlMs);
    if (this.current === 'starting') await this.startPromise?.catch(() => undefined);
    if (this.current !== 'started') return;
    try {
      await this.upsertSoon(entry);
    } catch (error) {
      // The backend never got it: undo the local registration too.
      if (this.jobs.get(job.key) === entry) this.jobs.delete(job.key);
      this.retire(entry);
      if (previous !== undefined && !this.jobs.has(job.key)) {
        const restored: JobEntry = { ...previous, done: false };
        this.jobs.set(job.key, restored);
        this.queueNext(restored, nextAfter(restored.job, this.clock.now()));
      }
      throw error;
    }
  }

  /**
   * Stops running a job on this instance. With `everywhere: true` its stored
   * state, history and pending runs are deleted too, and every other instance
   * stops running it at its next slot. Resolves true when anything was removed.
   */
  async remove(name: string, tenantOrOptions?: string | RemoveOptions): Promise<boolean> {
    const options: RemoveOptions = typeof tenantOrOptions === 'string' ? { tenantId: tenantOrOptions } : (tenantOrOptions ?? {});
    checkOptions('remove', options, REMOVE_KEYS, 'a tenant id or');
    // Checked before anything is removed: `everywhere: 'yes'` must not
    // silently remove the job here only.
    checkBoolean('remove', 'everywhere', options.everywhere);
    const key = this.keyOf('remove', name, options.tenantId);
    const entry = this.jobs.get(key);
    if (entry !== undefined) {
      this.jobs.delete(key);
      this.retire(entry);
    }
    let removedStored = false;
    if (options.everywhere === true) removedStored = await this.backend.removeJob(key);
    return entry !== undefined || removedStored;
  }

  /** Alias of `remove`. */
  unregister(name: string, tenantOrOptions?: string | RemoveOptions): Promise<boolean> {
    return this.remove(name, tenantOrOptions);
  }

  /** Pauses a job cluster-wide: its slots pass without running until `resume`; pending runs wait. */
  async pause(name: string, tenant?: TenantArg): Promise<void> {
    await this.setPaused('pause', name, tenant, true);
  }

  /** Resumes a paused job from its next slot (slots passed while paused are not caught up). */
  async resume(name: string, tenant?: TenantArg): Promise<void> {
    await this.setPaused('resume', name, tenant, false);
  }

  /**
   * Enqueues one run of a registered job, now or `at`, with its own params.
   * The run is stored in the backend: any instance with the job may run it,
   * it survives the death of this one, and it is retried per the job's
   * retry policy. With an `id` it runs once per id: a second trigger with the
   * same id returns the existing run (`created: false`).
   */
  async trigger(name: string, options: TriggerOptions = {}): Promise<TriggeredRun> {
    checkOptions('trigger', options, TRIGGER_KEYS);
    const key = this.keyOf('trigger', name, options.tenantId);
    const entry = this.jobs.get(key);
    if (entry === undefined) throw this.notFound(name, options.tenantId);
    const id = options.id ?? newRunId();
    if (options.id !== undefined) assertValidName(options.id, 'trigger id', ErrorCode.InvalidArgument);
    // The caller's `at` is an instant of its own choosing; "now" is the backend's.
    const dueAt = options.at === undefined ? null : parseDate(options.at, 'trigger', 'at');
    const params = validateParams(options.params, `trigger of ${jobLabel(entry.job.name, entry.job.tenantId)}`, this.config.maxParamsBytes);
    this.refuseWhenStopping('trigger');
    await this.ensureStored(entry);
    const { run, created } = await this.backend.enqueueRun({
      key,
      id,
      kind: 'trigger',
      dueAt,
      params,
      maxAttempts: stallAttempts(entry.job),
    });
    return { id: run.id, name: entry.job.name, tenantId: entry.job.tenantId, dueAt: new Date(run.dueAt), created, state: run.state };
  }

  // ------------------------------------------------------------ inspection

  /** The cluster's view of a job, or null when it is neither stored nor registered here. */
  async getJob(name: string, tenant?: TenantArg): Promise<JobInfo | null> {
    const tenantId = tenantOf('getJob', tenant);
    const key = this.keyOf('getJob', name, tenantId);
    const stored = await this.backend.getJob(key);
    if (stored !== null) return this.toInfo(stored);
    const entry = this.jobs.get(key);
    if (entry === undefined) return null;
    // Registered but not yet synced (before start).
    return {
      name: entry.job.name,
      tenantId: entry.job.tenantId,
      schedule: entry.job.schedule?.descriptor ?? null,
      status: 'scheduled',
      nextRunAt: entry.job.schedule === null ? null : toDate(nextAfter(entry.job, this.clock.now())),
      lastRunAt: null,
      lastDurationMs: null,
      lastError: null,
      runCount: 0,
      failCount: 0,
      skippedCount: 0,
      registeredHere: true,
    };
  }

  /** Every stored job (optionally of one tenant), ordered by tenant and name. */
  async listJobs(filter: { tenantId?: string } = {}): Promise<JobInfo[]> {
    checkOptions('listJobs', filter, LIST_KEYS);
    if (filter.tenantId !== undefined) assertValidName(filter.tenantId, 'tenantId', ErrorCode.InvalidArgument);
    const stored = await this.backend.listJobs(filter);
    return stored.map((job) => this.toInfo(job));
  }

  /** The job's newest runs first: outcome, timings, instance, attempt. */
  async history(name: string, options: { tenantId?: string; limit?: number } = {}): Promise<RunHistoryEntry[]> {
    checkOptions('history', options, HISTORY_KEYS);
    const key = this.keyOf('history', name, options.tenantId);
    const limit = options.limit ?? this.config.historyLimit;
    if (!Number.isInteger(limit) || limit < 1) {
      throw new SchedkitError(ErrorCode.InvalidArgument, messages.invalidArgument('history', 'limit', `expected a positive integer, got ${show(limit)}`));
    }
    const entries = await this.backend.history(key, Math.min(limit, this.config.historyLimit));
    return entries.map((e) => ({
      ...e,
      scheduledAt: new Date(e.scheduledAt),
      startedAt: toDate(e.startedAt),
      finishedAt: toDate(e.finishedAt),
    }));
  }

  // -------------------------------------------------------------- lifecycle

  /**
   * Syncs registered jobs to the backend, applies the misfire policy to
   * slots missed while nothing ran, and starts dispatching. Idempotent; a
   * concurrent call shares the start in flight.
   */
  start(): Promise<void> {
    if (this.current === 'started') return Promise.resolve();
    if (this.current === 'starting') return this.startPromise!;
    const after = this.current === 'stopping' ? this.stopPromise!.catch(() => undefined) : Promise.resolve();
    this.current = 'starting';
    this.startPromise = after.then(() => this.doStart());
    return this.startPromise;
  }

  /**
   * Stops dispatching, lets runs in flight finish for up to
   * `shutdownTimeoutMs`, then aborts the rest with `ShutdownError` (their
   * one-off runs go back to the backend for another instance) and releases
   * every lock. Idempotent; a concurrent call shares the stop in flight.
   * The process stays alive until the stop has finished.
   */
  stop(): Promise<void> {
    if (this.current === 'stopped') return Promise.resolve();
    if (this.current === 'stopping') return this.stopPromise!;
    const after = this.current === 'starting' ? this.startPromise!.catch(() => undefined) : Promise.resolve();
    this.current = 'stopping';
    const release = keepProcessAlive();
    this.stopPromise = after.then(() => this.doStop()).finally(release);
    return this.stopPromise;
  }

  private async doStart(): Promise<void> {
    this.current = 'starting';
    this.runner.reset();
    try {
      const offset = await this.clock.align(() => this.backend.time());
      if (Math.abs(offset) > this.config.maxClockSkewMs) {
        this.log.warn('local clock differs from the backend clock by more than maxClockSkewMs; slots follow the backend clock', {
          skewMs: -offset,
          maxClockSkewMs: this.config.maxClockSkewMs,
        });
      }
      await this.maintenance.heartbeat();
      this.unsubscribe = this.backend.onRunsChanged(() => this.poller.queue());
      this.current = 'started';
      this.health.start();
      this.queue.start();
      await this.syncJobs([...this.jobs.values()]);
    } catch (error) {
      this.current = 'stopping';
      this.teardownTimers();
      this.current = 'stopped';
      throw error;
    }
    this.maintenance.start();
    this.poller.start();
    this.log.info('scheduler started', { jobs: this.jobs.size, backend: this.backend.kind, maxConcurrent: this.config.maxConcurrent });
  }

  private async doStop(): Promise<void> {
    this.teardownTimers();
    this.limiter.cancelWaiting();
    const inFlight = this.runner.size;
    if (inFlight > 0) this.log.info('waiting for runs in flight', { runs: inFlight, shutdownTimeoutMs: this.config.shutdownTimeoutMs });
    const drained = await this.runner.drain(this.config.shutdownTimeoutMs);
    if (!drained) {
      this.log.warn('aborting runs still in flight after shutdownTimeoutMs', { runs: this.runner.size });
      this.runner.abortAll();
      // Aborted runs record their outcome at once (the executor does not
      // wait for handlers that ignore the signal); this bound is for the backend.
      await this.runner.drain(Math.min(5_000, this.config.stopTimeoutMs - this.config.shutdownTimeoutMs));
    }
    await this.runner.releaseAll();
    if (this.unanswered.size + this.runner.keptOutcomes > 0) {
      await this.settleOutage().catch((error: unknown) =>
        this.log.error('stopped with claims or run outcomes unanswered (the backend is out of reach): their runs will be reaped as stalled', {
          claims: this.unanswered.size,
          outcomes: this.runner.keptOutcomes,
          err: error,
        }),
      );
    }
    // Others take over this instance's share of slots at once, not after its heartbeat expires.
    await this.backend.removeInstance(this.config.instanceId).catch(() => undefined);
    this.current = 'stopped';
    this.log.info('scheduler stopped');
  }

  private teardownTimers(): void {
    this.queue.stop();
    this.health.stop();
    this.poller.stop();
    this.maintenance.stop();
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  // ------------------------------------------------------------ slot flow

  private onDue(item: QueueItem, at: number): void {
    const entry = item.entry;
    if (entry.done || item.token !== entry.token || entry.job.schedule === null) return;
    try {
      const now = this.clock.now();
      if (this.health.isDown) {
        // Claims cannot succeed; keep the series moving. Recovery re-plans
        // from the backend's newest claimed slot and applies the misfire policy.
        this.queueNext(entry, nextAfter(entry.job, Math.max(at, now)));
      } else if (now - at < this.config.misfireGraceMs) {
        this.queueNext(entry, nextAfter(entry.job, at));
        void this.dispatchSlot(entry, at, entry.job.overlap);
      } else {
        // Woke far too late (suspended machine, blocked event loop): missed slots.
        this.plan(entry, at - 1, now, this.config.misfireGraceMs);
      }
    } catch (error) {
      this.log.error('could not schedule the next slot; the job stops here', { job: entry.job.name, tenantId: entry.job.tenantId, err: error });
    }
  }

  /** Queues `slot` as the entry's next fire time (or nothing when null). */
  private queueNext(entry: JobEntry, slot: number | null): void {
    entry.nextSlot = slot;
    entry.token++;
    if (slot !== null && !entry.done) this.queue.push(slot, { entry, token: entry.token });
  }

  /**
   * Plans the slots after `after`: catch-ups by the misfire policy, the ones
   * due now, and the next one to queue.
   */
  private plan(entry: JobEntry, after: number, now: number, graceMs: number): void {
    const { job } = entry;
    if (job.schedule === null) return;
    const plan = planSlots({ schedule: job.schedule, after, now, policy: job.misfire, maxCatchUp: this.config.maxCatchUp, graceMs });
    if (plan.missed > 0) {
      // The bounds name exactly which slots were dropped: (droppedAfter, droppedBefore).
      const bounds = plan.droppedBefore === null ? {} : { droppedAfter: new Date(after).toISOString(), droppedBefore: new Date(plan.droppedBefore).toISOString() };
      this.log.info('missed slots', { job: job.name, tenantId: job.tenantId, missed: plan.missed, dropped: plan.dropped, misfire: job.misfire, ...bounds });
    }
    this.queueNext(entry, plan.next);
    if (plan.dueNow.length === 0) return;
    // Slots planned together (catch-ups, and the slot due now after them)
    // queue behind each other instead of skipping each other, so `run-all`
    // really runs each one, in order.
    const overlap = job.overlap === 'allow' ? 'allow' : 'queue';
    // One claim delay for the whole group (its oldest slot's), so every
    // instance claims the group in order: a claim of a newer slot makes the
    // older ones `taken`, and instances that each let a different slot of the
    // group go first would lose the older ones of a `run-all` catch-up.
    const dueNow = plan.dueNow;
    const dispatchAll = (): void => {
      for (const slot of dueNow) void this.dispatchSlot(entry, slot, overlap, true);
    };
    const delay = this.membership.claimDelay(job.key, dueNow[0]!);
    if (delay > 0) this.clock.setTimeout(dispatchAll, delay);
    else dispatchAll();
  }

  /**
   * Claims one slot and runs it if this instance won. Never rejects. Unless
   * `now`, an instance that is not the slot's preferred one (see
   * `Membership`) lets the preferred one go first.
   */
  private async dispatchSlot(entry: JobEntry, slot: number, overlap: NormalizedJob['overlap'] | 'queue', now = false): Promise<void> {
    const delay = now ? 0 : this.membership.claimDelay(entry.job.key, slot);
    if (delay > 0) {
      this.clock.setTimeout(() => void this.dispatchSlot(entry, slot, overlap, true), delay);
      return;
    }
    if (!(await this.limiter.acquire())) return;
    try {
      if (this.current !== 'started' || entry.done || this.health.isDown) return;
      const { job } = entry;
      let result;
      const runId = newRunId();
      try {
        result = await this.claims.call({
          key: job.key,
          slot,
          runId,
          instanceId: this.config.instanceId,
          leaseMs: job.lockTtlMs,
          definitionHash: job.definitionHash,
          overlap,
          nextRunAt: entry.nextSlot,
          requeueOnStall: job.misfire !== 'skip',
          maxAttempts: stallAttempts(job),
        });
      } catch (error) {
        this.unanswered.failed([runId], error);
        this.claimFailed.add(entry);
        this.health.report(error);
        return;
      }
      switch (result.status) {
        case 'claimed':
          await this.runner.run(job, result.run);
          return;
        case 'skipped':
          this.metrics.runSkipped(job.key);
          this.events.emit('run:skipped', { name: job.name, tenantId: job.tenantId, scheduledAt: new Date(slot), reason: 'overlap' });
          return;
        case 'early':
          // Our clock is ahead of the backend's: come back when the slot is due there.
          this.clock.setTimeout(() => void this.dispatchSlot(entry, slot, overlap, true), result.retryInMs);
          return;
        case 'completed':
          this.retire(entry);
          return;
        case 'removed':
          this.log.info('job was removed everywhere; unregistering it here', { job: job.name, tenantId: job.tenantId });
          if (this.jobs.get(job.key) === entry) this.jobs.delete(job.key);
          this.retire(entry);
          return;
        case 'superseded':
          this.adopt(entry, result.stored);
          return;
        case 'paused':
          this.events.emit('run:skipped', { name: job.name, tenantId: job.tenantId, scheduledAt: new Date(slot), reason: 'paused' });
          return;
        case 'taken':
        case 'buffered':
          return;
      }
    } finally {
      this.limiter.release();
    }
  }

  /** Switches a job to the newer definition stored by another instance and re-plans. */
  private adopt(entry: JobEntry, stored: StoredJob): void {
    if (entry.done || stored.definitionHash === entry.job.definitionHash) return;
    const schedule = stored.schedule === null ? null : scheduleFromDescriptor(stored.schedule);
    this.log.info('a newer definition of this job is stored; adopting its schedule', {
      job: entry.job.name,
      tenantId: entry.job.tenantId,
      schedule: stored.schedule,
    });
    const job: NormalizedJob = Object.freeze({ ...entry.job, schedule, limit: stored.limit, definitionHash: stored.definitionHash });
    const next: JobEntry = { job, definedAt: stored.definedAt, nextSlot: null, token: 0, done: false };
    this.retire(entry);
    if (this.jobs.get(job.key) === entry) this.jobs.set(job.key, next);
    this.planFromStored(next, stored);
  }

  /** Stops every queued slot of an entry. */
  private retire(entry: JobEntry): void {
    entry.done = true;
    entry.token++;
    entry.nextSlot = null;
  }

  // ------------------------------------------------------------- syncing

  /** Upserts one entry, batched with others registered in the same tick. */
  private upsertSoon(entry: JobEntry): Promise<void> {
    return new Promise((resolve, reject) => {
      this.upsertQueue.push({ entry, done: (error) => (error === undefined ? resolve() : reject(error)) });
      if (this.upsertQueue.length === 1) {
        queueMicrotask(() => {
          const batch = this.upsertQueue;
          this.upsertQueue = [];
          this.syncJobs(batch.map((b) => b.entry)).then(
            () => batch.forEach((b) => b.done()),
            (error: unknown) => batch.forEach((b) => b.done(error)),
          );
        });
      }
    });
  }

  /**
   * Tells the backend about these jobs, settles definition conflicts, and
   * plans each. `outageSince`: after an outage, when it began.
   */
  private async syncJobs(entries: readonly JobEntry[], outageSince?: number): Promise<void> {
    for (let i = 0; i < entries.length; i += UPSERT_BATCH) {
      const batch = entries.slice(i, i + UPSERT_BATCH);
      const now = this.clock.now();
      const results = await this.backend.upsertJobs(batch.map((entry) => this.toUpsert(entry, now)));
      for (let j = 0; j < batch.length; j++) {
        const entry = batch[j]!;
        const result = results[j]!;
        entry.definedAt = result.definedAt;
        if (entry.done) continue;
        if (result.definitionChanged) {
          this.log.info('job definition changed; this instance stored the new one', { job: entry.job.name, tenantId: entry.job.tenantId });
        }
        if (result.stored.definitionHash !== entry.job.definitionHash) this.adopt(entry, result.stored);
        else this.planFromStored(entry, result.stored, outageSince);
      }
    }
  }

  private planFromStored(entry: JobEntry, stored: StoredJob, outageSince?: number): void {
    if (entry.job.schedule === null) return;
    if (stored.completed) {
      this.retire(entry);
      return;
    }
    // Never claimed: slots since the first registration were missed (a once
    // job whose time passed before it was ever stored is missed too).
    let neverClaimedSince = stored.createdAt;
    // After an outage the store may come back empty (a Redis restarted
    // without persistence): the job then looks new, yet the slots since the
    // outage began (and since this instance had the job) were missed all the
    // same. A store that kept its data has an older createdAt, or a lastSlot.
    if (outageSince !== undefined) neverClaimedSince = Math.min(neverClaimedSince, Math.max(outageSince, entry.definedAt ?? outageSince) - 1);
    const baseline = stored.lastSlot ?? (entry.job.schedule.descriptor.kind === 'once' ? BEGINNING_OF_TIME : neverClaimedSince);
    // No grace here: every slot due since the last claim passed while no
    // instance could claim it (nothing was up, or the backend was down).
    this.plan(entry, baseline, this.clock.now(), 0);
  }

  private toUpsert(entry: JobEntry, now: number): JobUpsert {
    const { job } = entry;
    return {
      key: job.key,
      name: job.name,
      tenantId: job.tenantId,
      schedule: job.schedule?.descriptor ?? null,
      definitionHash: job.definitionHash,
      definedAt: entry.definedAt,
      nextRunAt: job.schedule === null ? null : nextAfter(job, now),
      limit: job.limit,
    };
  }

  /** After an outage: re-sync every job (the store may have lost data) and apply misfire policies. */
  private async recover(since: number, outage: boolean): Promise<void> {
    if (this.current !== 'started') return;
    // Before the reapers' grace after the outage runs out.
    await this.settleOutage();
    // After an outage any job may have missed slots; after one slow call only
    // the jobs whose claim failed did. The others are at most late (their
    // slots wait for a permit): re-planning them would drop those slots.
    const entries = outage ? [...this.jobs.values()] : [...this.claimFailed];
    this.claimFailed.clear();
    for (const entry of entries) entry.token++;
    if (entries.length > 0) await this.syncJobs(entries, since);
    this.poller.queue();
  }

  /** Gives back the claims and records the outcomes an outage left unanswered; rejects (keeping them) while the backend is out of reach. */
  private async settleOutage(): Promise<void> {
    await this.unanswered.release();
    await this.runner.recordKept();
  }

  // ------------------------------------------------------------ helpers

  private async setPaused(call: 'pause' | 'resume', name: string, tenant: TenantArg, paused: boolean): Promise<void> {
    const tenantId = tenantOf(call, tenant);
    const key = this.keyOf(call, name, tenantId);
    this.refuseWhenStopping(call);
    const entry = this.jobs.get(key);
    if (entry !== undefined) await this.ensureStored(entry);
    if (!(await this.backend.setPaused(key, paused))) throw this.notFound(name, tenantId);
  }

  /**
   * Before start, registered jobs live only here; a trigger or pause then
   * stores the job first (start re-syncs it and plans its slots), so an init
   * hook may trigger runs before the scheduler starts.
   */
  private async ensureStored(entry: JobEntry): Promise<void> {
    if (this.current === 'started') return;
    const [result] = await this.backend.upsertJobs([this.toUpsert(entry, this.clock.now())]);
    entry.definedAt = result!.definedAt;
  }

  private keyOf(call: string, name: string, tenantId: string | undefined): string {
    assertValidName(name, `${call} name`, ErrorCode.InvalidArgument);
    if (tenantId !== undefined) assertValidName(tenantId, `${call} tenantId`, ErrorCode.InvalidArgument);
    return jobKey(name, tenantId);
  }

  private refuseWhenStopping(call: string): void {
    if (this.current === 'stopping') throw new SchedkitError(ErrorCode.Stopped, messages.stopped(call));
  }

  private notFound(name: string, tenantId: string | undefined): SchedkitError {
    return new SchedkitError(ErrorCode.JobNotFound, messages.jobNotFound(jobLabel(name, tenantId)), { details: { name, tenantId } });
  }

  private toInfo(stored: StoredJob): JobInfo {
    return {
      name: stored.name,
      tenantId: stored.tenantId,
      schedule: stored.schedule,
      status: jobStatus(stored),
      nextRunAt: stored.completed ? null : toDate(stored.nextRunAt),
      lastRunAt: toDate(stored.lastRunAt),
      lastDurationMs: stored.lastDurationMs,
      lastError: stored.lastError,
      runCount: stored.runCount,
      failCount: stored.failCount,
      skippedCount: stored.skippedCount,
      registeredHere: this.jobs.has(stored.key),
    };
  }
}

/**
 * How many attempts a run gets when its instance dies or shuts down under
 * it: the retry policy's, but at least 3, so a one-off run survives a deploy
 * even when its job says `retry: false`.
 */
function stallAttempts(job: NormalizedJob): number {
  return Math.max(job.retry.maxRetries + 1, 3);
}

function nextAfter(job: NormalizedJob, after: number): number | null {
  return job.schedule?.next(new Date(after))?.getTime() ?? null;
}

function toDate(ms: number | null): Date | null {
  return ms === null ? null : new Date(ms);
}

/**
 * The tenant of `getJob`/`pause`/`resume`: a string, `{ tenantId }` or
 * nothing. Anything else (a number, an array, unknown keys) is refused
 * rather than read as "no tenant", which would address another job.
 */
function tenantOf(call: string, tenant: TenantArg): string | undefined {
  if (tenant === undefined || typeof tenant === 'string') return tenant;
  if (typeof tenant !== 'object' || tenant === null || Array.isArray(tenant)) {
    throw new SchedkitError(
      ErrorCode.InvalidArgument,
      messages.invalidArgument(call, 'tenantId', `expected a tenant id string or { tenantId }, got ${show(tenant)}`),
      { details: { field: 'tenantId' } },
    );
  }
  checkOptions(call, tenant, LIST_KEYS);
  return (tenant as { tenantId?: string }).tenantId;
}

/**
 * An instant as a `Date` or an ISO 8601 string with a zone: the rules of a
 * `{ at }` schedule (`parseInstant`), so `'1'` or `'March 7'` (which
 * `Date.parse` would guess at) and zone-less local times are refused.
 */
function parseDate(value: unknown, call: string, field: string): number {
  try {
    return parseInstant(value);
  } catch (error) {
    throw new SchedkitError(ErrorCode.InvalidArgument, messages.invalidArgument(call, field, (error as Error).message), {
      details: { field },
    });
  }
}

/** Options of a public call: undefined or a plain object with known keys only (a typo is an error, not a no-op). */
function checkOptions(call: string, options: unknown, known: ReadonlySet<string>, alternative = ''): void {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    const expected = alternative === '' ? 'an object' : `${alternative} an object`;
    throw new SchedkitError(ErrorCode.InvalidArgument, messages.invalidArgument(call, 'options', `expected ${expected}, got ${show(options)}`), {
      details: { field: 'options' },
    });
  }
  for (const field of Object.keys(options)) {
    if (!known.has(field)) {
      throw new SchedkitError(
        ErrorCode.InvalidArgument,
        messages.invalidArgument(call, field, `unknown option (expected ${[...known].join(', ')})`),
        { details: { field } },
      );
    }
  }
}

function checkBoolean(call: string, field: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'boolean') {
    throw new SchedkitError(ErrorCode.InvalidArgument, messages.invalidArgument(call, field, `expected true or false, got ${show(value)}`), {
      details: { field },
    });
  }
}
