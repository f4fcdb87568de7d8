/**
 * The per-job slot timeline: which slot each registered job fires next, the
 * misfire plan when slots were missed, and the dispatch of a due slot (claim
 * in the backend, then hand the claimed run to the `RunRunner`). Separate
 * from the scheduler facade because this is the one place where time flows
 * for a job; the facade only adds, replaces and cancels entries.
 */
import { newRunId } from '../job/run-id.js';
import type { Backend, SlotClaim, SlotClaimResult, StoredJob } from '../backend/backend.js';
import type { KeyTable } from '../backend/key-table.js';
import type { AlignedClock } from '../clock/aligned-clock.js';
import type { SchedulerConfig } from '../config/config.js';
import type { NormalizedJob } from '../job/normalize-job.js';
import type { Logger } from '../observability/logger.js';
import type { MetricsCollector } from '../observability/metrics.js';
import { jitterOffset } from '../schedule/jitter.js';
import { planSlots } from '../schedule/misfire.js';
import { nextAfter, stallAttempts } from './job-slots.js';
import { scheduleFromDescriptor } from '../schedule/parse-schedule.js';
import type { BackendHealth } from './backend-health.js';
import { CallBatcher } from './call-batcher.js';
import type { ConcurrencyLimiter } from './concurrency-limiter.js';
import { DueQueue } from './due-queue.js';
import type { SchedulerEventEmitter } from './events.js';
import type { Membership } from './membership.js';
import type { RunRunner } from './run-runner.js';
import type { UnansweredClaims } from './unanswered-claims.js';
import { MAX_PREVIOUS, NONE, unanswered, type JobEntry, type QueueItem } from './job-entry.js';

/** A claim this instance makes later, as a slot's second (see `Membership`). */
interface DelayedClaim {
  entry: JobEntry;
  slot: number;
  overlap: NormalizedJob['overlap'] | 'queue';
  previous: readonly number[];
}

/** Earliest representable instant: the baseline of a once job that never ran. */
const BEGINNING_OF_TIME = -8.64e15;

/** What the timeline works with, shared with the scheduler that owns it. */
export interface JobTimelineDeps {
  config: SchedulerConfig;
  backend: Backend;
  clock: AlignedClock;
  log: Logger;
  metrics: MetricsCollector;
  events: SchedulerEventEmitter;
  limiter: ConcurrencyLimiter;
  runner: RunRunner;
  health: BackendHealth;
  unanswered: UnansweredClaims;
  membership: Membership;
  /** Registered jobs by key (owned by the scheduler). */
  jobs: KeyTable<JobEntry>;
  /** Jobs whose slot claim failed since the last recovery (owned by the scheduler). */
  claimFailed: Set<JobEntry>;
  /** Whether the scheduler is started: slots are claimed only then. */
  isStarted: () => boolean;
}

/**
 * Fires each job's slots from the due queue, plans missed ones by the
 * misfire policy, and claims and runs due slots.
 */
export class JobTimeline {
  private readonly config: SchedulerConfig;
  private readonly clock: AlignedClock;
  private readonly log: Logger;
  private readonly metrics: MetricsCollector;
  private readonly events: SchedulerEventEmitter;
  private readonly limiter: ConcurrencyLimiter;
  private readonly backend: Backend;
  private readonly claims: CallBatcher<SlotClaim, SlotClaimResult>;
  private readonly runner: RunRunner;
  private readonly health: BackendHealth;
  private readonly unanswered: UnansweredClaims;
  private readonly membership: Membership;
  private readonly jobs: KeyTable<JobEntry>;
  private readonly claimFailed: Set<JobEntry>;
  private readonly isStarted: () => boolean;
  /** Fires each queued slot at its time. */
  private readonly queue: DueQueue<QueueItem>;
  /**
   * The claims this instance makes after `takeoverDelayMs`, as the second of
   * their slots: in one queue, so the claims due in one wake go to the
   * backend in one batch. A timer each would send each alone (microtasks run
   * between timer callbacks), and with N instances that is about one script
   * call per run.
   */
  private readonly delayed: DueQueue<DelayedClaim>;

  constructor(deps: JobTimelineDeps) {
    this.config = deps.config;
    this.clock = deps.clock;
    this.log = deps.log;
    this.metrics = deps.metrics;
    this.events = deps.events;
    this.limiter = deps.limiter;
    this.runner = deps.runner;
    this.health = deps.health;
    this.unanswered = deps.unanswered;
    this.membership = deps.membership;
    this.jobs = deps.jobs;
    this.claimFailed = deps.claimFailed;
    this.isStarted = deps.isStarted;
    this.backend = deps.backend;
    this.claims = new CallBatcher('claimSlots', (claims) => deps.backend.claimSlots(claims));
    this.queue = new DueQueue(this.clock, (item, at) => this.onDue(item, at));
    this.delayed = new DueQueue(this.clock, (claim) => void this.dispatchSlot(claim.entry, claim.slot, claim.overlap, true, false, claim.previous, true));
  }

  /** Starts firing slots (with the scheduler). */
  start(): void {
    this.queue.start();
    this.delayed.start();
  }

  /** Stops firing slots; queued slots stay for the next start, delayed claims are dropped (their slots are past by then). */
  stop(): void {
    this.queue.stop();
    this.delayed.stop();
    this.delayed.clear();
  }

  /** `at`: when the slot was queued to fire (the slot plus its jitter offset). */
  private onDue(item: QueueItem, at: number): void {
    const entry = item.entry;
    if (entry.done || item.token !== entry.token || entry.job.schedule === null) return;
    const slot = item.slot;
    try {
      const now = this.clock.now();
      if (this.health.isDown) {
        // Claims cannot succeed; keep the series moving. Recovery re-plans
        // from the backend's newest claimed slot and applies the misfire policy.
        this.queueNext(entry, nextAfter(entry.job, Math.max(slot, now)));
      } else if (now - at < this.config.misfireGraceMs) {
        // This instance's next claim of the job vouches for this slot and the
        // ones before it (up to MAX_PREVIOUS) unless the store has answered a
        // claim of them by this instance by then: a slot whose two first
        // instances did not claim it (one dead, one not yet planning it) is
        // then on the record as missed, whoever claims the job next.
        const previous = unanswered(entry, item.previous);
        this.queueNext(entry, nextAfter(entry.job, slot), [slot, ...previous].slice(0, MAX_PREVIOUS));
        void this.dispatchSlot(entry, slot, entry.job.overlap, false, false, previous);
      } else {
        // Woke far too late (suspended machine, blocked event loop): missed slots.
        this.plan(entry, slot - 1, now, this.config.misfireGraceMs);
      }
    } catch (error) {
      this.log.error('could not schedule the next slot; the job stops here', { job: entry.job.name, tenantId: entry.job.tenantId, err: error });
    }
  }

  /**
   * Queues `slot` as the entry's next slot (or nothing when null), to fire at
   * the slot plus its jitter offset: the same instant on every instance.
   */
  queueNext(entry: JobEntry, slot: number | null, previous: readonly number[] = NONE): void {
    entry.nextSlot = slot;
    entry.token++;
    if (slot !== null && !entry.done) this.queue.push(slot + jitterOffset(entry.job.key, slot, entry.job.jitterMs), { entry, token: entry.token, slot, previous });
  }

  /**
   * Plans the slots after `after`: catch-ups by the misfire policy, the ones
   * due now, and the next one to queue.
   */
  private plan(entry: JobEntry, after: number, now: number, graceMs: number): void {
    const { job } = entry;
    if (job.schedule === null) return;
    // A slot within jitterMs of now may not have reached its jittered fire
    // time yet: it counts as on time (it runs now, up to its offset early)
    // rather than as missed, which `misfire: 'skip'` would drop.
    const plan = planSlots({ schedule: job.schedule, after, now, policy: job.misfire, maxCatchUp: this.config.maxCatchUp, graceMs: graceMs + job.jitterMs });
    if (plan.missed > 0) {
      // The bounds name exactly which slots were dropped: (droppedAfter, droppedBefore).
      const bounds = plan.droppedBefore === null ? {} : { droppedAfter: new Date(after).toISOString(), droppedBefore: new Date(plan.droppedBefore).toISOString() };
      this.log.info('missed slots', { job: job.name, tenantId: job.tenantId, missed: plan.missed, dropped: plan.dropped, misfire: job.misfire, ...bounds });
    }
    const dueNow = plan.dueNow;
    const delay = dueNow.length === 0 ? 0 : this.membership.claimDelay(job.key, dueNow[0]!);
    if (delay === null) {
      // Two others claim these; this instance's next claim of the job vouches
      // for them (see `SlotClaim.previousSlots`), as for any slot it leaves to
      // others. Left out, a slot both others miss (one dead, one not started
      // yet) would become `taken` by a later claim of this instance, unrecorded.
      this.queueNext(entry, plan.next, [...dueNow].reverse().slice(0, MAX_PREVIOUS));
      return;
    }
    this.queueNext(entry, plan.next);
    if (dueNow.length === 0) return;
    // Slots planned together (catch-ups, and the slot due now after them)
    // queue behind each other instead of skipping each other, so `run-all`
    // really runs each one, in order.
    const overlap = job.overlap === 'allow' ? 'allow' : 'queue';
    // One claim delay for the whole group (its oldest slot's), so every
    // instance claims the group in order: a claim of a newer slot makes the
    // older ones `taken`, and instances that each let a different slot of the
    // group go first would lose the older ones of a `run-all` catch-up.
    const dispatchAll = (): void => {
      for (const slot of dueNow) void this.dispatchSlot(entry, slot, overlap, true, false, NONE, delay > 0);
    };
    if (delay > 0) this.clock.setTimeout(dispatchAll, delay);
    else dispatchAll();
  }

  /**
   * Claims one slot and runs it if this instance won. Never rejects. Unless
   * `now`, an instance that is not the slot's first (see `Membership`) lets
   * the first go first, or leaves the slot to the first two. `previous`:
   * slots before this one other instances were to claim (see `SlotClaim.previousSlots`). `rateLimited`: the rate
   * limit had no room for the slot until its next slot: record it skipped.
   * `second`: this instance claims as the slot's second, after
   * `takeoverDelayMs` (see `Membership`).
   *
   * A second's claim does not wait for a permit when none is free. Its first
   * is usually alive and has claimed the slot, so the answer is `taken`; in
   * a busy fleet, waiting in line would spend a permit on every such answer,
   * and each instance would cycle its permits through twice as many claims
   * as it runs, in more, smaller batches: lateness and store calls per run
   * would grow with the number of instances instead of staying flat. When
   * the first did not claim it (dead, stalled, or busier), the slot is this
   * instance's: the run then takes the next permit that frees, ahead of the
   * claims waiting for one (held back, it would keep its job's next slot out
   * as an overlap), its lease running since the claim; one that waited
   * longer than a lease refresh period is given back (pending, due now)
   * rather than started on a lease that may be close to its end.
   */
  private async dispatchSlot(
    entry: JobEntry,
    slot: number,
    overlap: NormalizedJob['overlap'] | 'queue',
    now = false,
    rateLimited = false,
    previous: readonly number[] = NONE,
    second = false,
  ): Promise<void> {
    const delay = now ? 0 : this.membership.claimDelay(entry.job.key, slot);
    if (delay === null) return;
    if (delay > 0) {
      this.delayed.push(this.clock.now() + delay, { entry, slot, overlap, previous });
      return;
    }
    // A free permit is taken without an await: most slots find one.
    let permitted = this.limiter.tryAcquire();
    if (!permitted && !second && !(await this.limiter.acquire())) return;
    permitted ||= !second;
    const claimDone = permitted ? undefined : this.limiter.claimWithoutPermit();
    try {
      if (!this.isStarted() || entry.done || this.health.isDown) return;
      const { job } = entry;
      let result;
      const runId = newRunId();
      const excluded = job.exclusions?.matches(slot) === true;
      const skip = excluded ? ('excluded' as const) : rateLimited ? ('rate-limited' as const) : undefined;
      const vouched = unanswered(entry, previous);
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
          ...(skip === undefined ? {} : { skip }),
          ...(vouched.length === 0 ? {} : { previousSlots: vouched }),
        });
      } catch (error) {
        this.unanswered.failed([runId], error);
        this.claimFailed.add(entry);
        this.health.report(error);
        return;
      }
      if (result.status !== 'early' && result.status !== 'limited' && slot > entry.answeredThrough) entry.answeredThrough = slot;
      switch (result.status) {
        case 'claimed':
          if (!permitted) {
            // Ahead of the claims waiting for a permit: this one holds a claim, they do not yet.
            permitted = await this.limiter.acquire(true);
            if (!permitted || this.clock.now() - result.run.claimedAt > job.lockRefreshMs) {
              await this.giveBack(result.run.runId);
              return;
            }
          }
          await this.runner.run(job, result.run);
          return;
        case 'skipped':
          // An excluded slot was never meant to run: it has its own reason and no skip count.
          if (!excluded) this.metrics.runSkipped(job.name, job.tenantId);
          this.events.emit('run:skipped', { name: job.name, tenantId: job.tenantId, scheduledAt: new Date(slot), reason: skip ?? 'overlap' });
          return;
        case 'early':
          // Our clock is ahead of the backend's: come back when the slot is due there.
          this.clock.setTimeout(() => void this.dispatchSlot(entry, slot, overlap, true, false, previous), result.retryInMs);
          return;
        case 'limited': {
          // The rate limit is used up: nothing was claimed, so the slot waits
          // for room and its start shows the wait as lateness. It waits no
          // later than its next slot: a slot still waiting then would be
          // passed by that one (whose claim makes it taken), unrecorded, so
          // it is recorded skipped with reason rate-limited instead.
          this.metrics.rateLimitWait(job.rateLimit?.key ?? '', result.retryInMs);
          const following = nextAfter(job, slot);
          const giveUp = following !== null && this.clock.now() + result.retryInMs >= following;
          if (giveUp) void this.dispatchSlot(entry, slot, overlap, true, true, previous);
          else this.clock.setTimeout(() => void this.dispatchSlot(entry, slot, overlap, true, false, previous), result.retryInMs);
          return;
        }
        case 'completed':
          this.cancelSlots(entry);
          return;
        case 'removed':
          this.log.info('job was removed everywhere; unregistering it here', { job: job.name, tenantId: job.tenantId });
          if (this.jobs.get(job.key) === entry) this.jobs.delete(job.key);
          this.cancelSlots(entry);
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
      if (permitted) this.limiter.release();
      claimDone?.();
    }
  }

  /** Gives a claimed slot run back unstarted: pending, due now, for whichever instance has room (see `Backend.releaseClaims`). */
  private async giveBack(runId: string): Promise<void> {
    try {
      await this.backend.releaseClaims(this.config.instanceId, [runId]);
    } catch (error) {
      this.log.warn('could not give back a claimed run; it is reaped as stalled once its lease runs out', { runId, err: error });
      this.health.report(error);
    }
  }

  /** Switches a job to the newer definition stored by another instance and re-plans. */
  adopt(entry: JobEntry, stored: StoredJob): void {
    if (entry.done || stored.definitionHash === entry.job.definitionHash) return;
    const schedule = stored.schedule === null ? null : scheduleFromDescriptor(stored.schedule);
    this.log.info('a newer definition of this job is stored; adopting its schedule', {
      job: entry.job.name,
      tenantId: entry.job.tenantId,
      schedule: stored.schedule,
    });
    const job: NormalizedJob = Object.freeze({ ...entry.job, schedule, limit: stored.limit, definitionHash: stored.definitionHash });
    const next: JobEntry = { job, definedAt: stored.definedAt, nextSlot: null, token: 0, done: false, answeredThrough: -Infinity };
    this.cancelSlots(entry);
    if (this.jobs.get(job.key) === entry) this.jobs.set(job.key, next);
    this.planFromStored(next, stored);
  }

  /** Stops every queued slot of an entry. */
  cancelSlots(entry: JobEntry): void {
    entry.done = true;
    entry.token++;
    entry.nextSlot = null;
  }

  /** Plans an entry from the stored state of its job: missed slots since its last claimed slot, then the next. */
  planFromStored(entry: JobEntry, stored: StoredJob, outageSince?: number): void {
    if (entry.job.schedule === null) return;
    if (stored.completed) {
      this.cancelSlots(entry);
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
}
