/**
 * The scheduler's start/stop state machine: `stopped | starting | started |
 * stopping`, idempotent calls that share the one in flight, and what each
 * phase does (align the clock, sync jobs and start every timer; then drain,
 * abort and release on stop). Separate from the facade because the order of
 * these steps is its own concern; the facade only asks which state it is in.
 */
import type { Backend } from '../backend/backend.js';
import type { KeyTable } from '../backend/key-table.js';
import type { AlignedClock } from '../clock/aligned-clock.js';
import { keepProcessAlive } from '../clock/clock.js';
import type { SchedulerConfig } from '../config/config.js';
import type { Logger } from '../observability/logger.js';
import type { BackendHealth } from './backend-health.js';
import type { ConcurrencyLimiter } from './concurrency-limiter.js';
import type { DueRunsPoller } from './due-runs-poller.js';
import type { JobSync } from './job-sync.js';
import type { JobEntry } from './job-entry.js';
import type { JobTimeline } from './job-timeline.js';
import type { Maintenance } from './maintenance.js';
import type { OutageRecovery } from './outage-recovery.js';
import type { RunRunner } from './run-runner.js';
import type { SchedulerState } from './types.js';
import type { UnansweredClaims } from './unanswered-claims.js';

/** The collaborators started and stopped, shared with the scheduler that owns them. */
export interface SchedulerLifecycleDeps {
  config: SchedulerConfig;
  backend: Backend;
  clock: AlignedClock;
  log: Logger;
  runner: RunRunner;
  limiter: ConcurrencyLimiter;
  health: BackendHealth;
  unanswered: UnansweredClaims;
  timeline: JobTimeline;
  sync: JobSync;
  recovery: OutageRecovery;
  poller: DueRunsPoller;
  maintenance: Maintenance;
  /** Registered jobs by key (owned by the scheduler). */
  jobs: KeyTable<JobEntry>;
}

/** Starts and stops a scheduler's collaborators in order; see `Scheduler.start`/`stop`. */
export class SchedulerLifecycle {
  private readonly config: SchedulerConfig;
  private readonly backend: Backend;
  private readonly clock: AlignedClock;
  private readonly log: Logger;
  private readonly runner: RunRunner;
  private readonly limiter: ConcurrencyLimiter;
  private readonly health: BackendHealth;
  private readonly unanswered: UnansweredClaims;
  private readonly timeline: JobTimeline;
  private readonly sync: JobSync;
  private readonly recovery: OutageRecovery;
  private readonly poller: DueRunsPoller;
  private readonly maintenance: Maintenance;
  private readonly jobs: KeyTable<JobEntry>;

  private current: SchedulerState = 'stopped';
  private startPromise: Promise<void> | undefined;
  private stopPromise: Promise<void> | undefined;
  private unsubscribe: (() => void) | undefined;
  /** Kept until runs in flight are drained: a cancel may still reach them. */
  private unsubscribeCancels: (() => void) | undefined;

  constructor(deps: SchedulerLifecycleDeps) {
    this.config = deps.config;
    this.backend = deps.backend;
    this.clock = deps.clock;
    this.log = deps.log;
    this.runner = deps.runner;
    this.limiter = deps.limiter;
    this.health = deps.health;
    this.unanswered = deps.unanswered;
    this.timeline = deps.timeline;
    this.sync = deps.sync;
    this.recovery = deps.recovery;
    this.poller = deps.poller;
    this.maintenance = deps.maintenance;
    this.jobs = deps.jobs;
  }

  get state(): SchedulerState {
    return this.current;
  }

  /** The start in flight (or last started), for calls that wait for it. */
  get starting(): Promise<void> | undefined {
    return this.startPromise;
  }


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
      this.unsubscribeCancels = this.backend.onRunCancelled((run) => this.runner.cancelInFlight(run));
      this.current = 'started';
      this.health.start();
      this.timeline.start();
      await this.sync.syncJobs([...this.jobs.values()]);
    } catch (error) {
      this.current = 'stopping';
      this.teardownTimers();
      this.stopCancels();
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
    // Permits taken but not yet a run here are claims still being answered.
    const claims = Math.max(0, this.limiter.running - inFlight);
    if (inFlight + claims > 0) this.log.info('waiting for runs in flight', { runs: inFlight, claims, shutdownTimeoutMs: this.config.shutdownTimeoutMs });
    const drained = await this.runner.drain(this.config.shutdownTimeoutMs, this.limiter.whenIdle());
    if (!drained) {
      this.log.warn('aborting runs still in flight after shutdownTimeoutMs', { runs: this.runner.size });
      this.runner.abortAll();
      // Aborted runs record their outcome at once (the executor does not
      // wait for handlers that ignore the signal); this bound is for the backend.
      await this.runner.drain(Math.min(5_000, this.config.stopTimeoutMs - this.config.shutdownTimeoutMs));
    }
    this.stopCancels();
    await this.runner.releaseAll();
    if (this.unanswered.size + this.runner.keptOutcomes > 0) {
      await this.recovery.clearUnanswered().catch((error: unknown) =>
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

  private stopCancels(): void {
    this.unsubscribeCancels?.();
    this.unsubscribeCancels = undefined;
  }

  private teardownTimers(): void {
    this.timeline.stop();
    this.health.stop();
    this.poller.stop();
    this.maintenance.stop();
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }
}
