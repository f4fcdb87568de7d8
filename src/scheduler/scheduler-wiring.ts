/**
 * How a `Scheduler` is put together: the parts it is made of, each given the
 * others it works with. Kept apart from the facade so the facade reads as
 * the public calls, and this file as the map of who talks to whom.
 */
import type { KeyTable } from '../backend/key-table.js';
import { AlignedClock } from '../clock/aligned-clock.js';
import { withoutUndefinedFields, type Logger } from '../observability/logger.js';
import { BackendHealth } from './backend-health.js';
import { ConcurrencyLimiter } from './concurrency-limiter.js';
import { DueRunsPoller } from './due-runs-poller.js';
import { SchedulerEventEmitter } from './events.js';
import { JobSync } from './job-sync.js';
import type { JobEntry } from './job-entry.js';
import { JobTimeline } from './job-timeline.js';
import { Maintenance } from './maintenance.js';
import { Membership } from './membership.js';
import { OutageRecovery } from './outage-recovery.js';
import { RunRunner } from './run-runner.js';
import { SchedulerLifecycle } from './scheduler-lifecycle.js';
import type { SchedulerDeps } from './types.js';
import { UnansweredClaims } from './unanswered-claims.js';

/** The parts the facade calls into. */
export interface SchedulerParts {
  /** The local clock aligned on the backend's: slots are planned and fired on backend time. */
  clock: AlignedClock;
  log: Logger;
  events: SchedulerEventEmitter;
  /** Lock, heartbeat, handler and outcome of each claimed run. */
  runner: RunRunner;
  /** Each job's slots: fires, plans and claims them. */
  timeline: JobTimeline;
  /** Stores registered jobs in the backend and plans them from what is stored. */
  sync: JobSync;
  /** Start/stop and the state they leave the scheduler in. */
  lifecycle: SchedulerLifecycle;
}

/**
 * Builds the parts of one scheduler around its table of registered jobs.
 * `leaseMs` is the lease of one-off runs claimed before their job is known.
 */
export function wireScheduler(deps: SchedulerDeps, jobs: KeyTable<JobEntry>, leaseMs: () => number): SchedulerParts {
  // Jobs whose slot claim failed since the last recovery: re-planned by the next one.
  const claimFailed = new Set<JobEntry>();
  const clock = new AlignedClock(deps.clock);
  // Every log line of the scheduler and of ctx.logger passes here once: a
  // custom logger never sees `tenantId: undefined`.
  const logger = withoutUndefinedFields(deps.logger);
  const log = logger.child({ component: 'scheduler', instanceId: deps.config.instanceId });
  const events = new SchedulerEventEmitter(log);
  // A freed permit may let a due one-off run start.
  const limiter = new ConcurrencyLimiter(deps.config.maxConcurrent, () => poller.permitFreed());
  // Healthy means both stores answer: the backend, and the lock (taken and
  // released on a resource of our own), since nothing may run unlocked.
  const probe = async (): Promise<void> => {
    await deps.backend.time();
    const lease = await deps.lock.acquire(`probe:${deps.config.instanceId}`, { ttlMs: 1_000 });
    await lease?.release();
  };
  const health: BackendHealth = new BackendHealth(clock, log, events, probe, deps.config.pollIntervalMs, (since, outage) => recovery.recover(since, outage));
  const runner = new RunRunner({ ...deps, logger, clock, events, onBackendError: (e) => health.report(e) });
  const unanswered = new UnansweredClaims(deps.backend, deps.config.instanceId, log);
  const membership = new Membership(deps.config.instanceId, deps.config.takeoverDelayMs);
  const isStarted = (): boolean => lifecycle.state === 'started';
  const timeline: JobTimeline = new JobTimeline({
    config: deps.config,
    backend: deps.backend,
    clock,
    log,
    metrics: deps.metrics,
    events,
    limiter,
    runner,
    health,
    unanswered,
    membership,
    jobs,
    claimFailed,
    isStarted,
  });
  const sync: JobSync = new JobSync({ backend: deps.backend, clock, log, timeline, isStarted });
  const recovery: OutageRecovery = new OutageRecovery({
    unanswered,
    runner,
    sync,
    jobs,
    claimFailed,
    isStarted,
    pollDueRuns: () => poller.queue(),
  });
  const poller: DueRunsPoller = new DueRunsPoller({
    backend: deps.backend,
    clock,
    limiter,
    health,
    unanswered,
    instanceId: deps.config.instanceId,
    pollIntervalMs: deps.config.pollIntervalMs,
    jobs,
    leaseMs,
    backendNow: () => clock.now(),
    run: async (claimed) => {
      const entry = jobs.get(claimed.key);
      if (entry !== undefined) await runner.run(entry.job, claimed);
    },
  });
  const maintenance = new Maintenance({
    ...deps,
    clock,
    logger: log,
    health,
    events,
    keys: () => jobs.keys(),
    membership,
    align: () => clock.align(() => deps.backend.time()),
  });
  const lifecycle: SchedulerLifecycle = new SchedulerLifecycle({
    config: deps.config,
    backend: deps.backend,
    clock,
    log,
    runner,
    limiter,
    health,
    unanswered,
    timeline,
    sync,
    recovery,
    poller,
    maintenance,
    jobs,
  });
  return { clock, log, events, runner, timeline, sync, lifecycle };
}
