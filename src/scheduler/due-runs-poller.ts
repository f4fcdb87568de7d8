import { newRunId } from '../job/run-id.js';
import type { Backend, ClaimedRun } from '../backend/backend.js';
import type { KeyFilter } from '../backend/key-filter.js';
import type { Clock } from '../clock/clock.js';
import type { BackendHealth } from './backend-health.js';
import type { ConcurrencyLimiter } from './concurrency-limiter.js';
import { Periodic } from './periodic.js';
import type { UnansweredClaims } from './unanswered-claims.js';

/** Most runs claimed in one backend call, and calls in one poll. */
const CLAIM_BATCH = 100;
const MAX_ROUNDS = 100;

export interface DueRunsPollerDeps {
  backend: Backend;
  clock: Clock;
  limiter: ConcurrencyLimiter;
  health: BackendHealth;
  /** Where the attempt ids of claims that met an outage go, to be given back after it. */
  unanswered: UnansweredClaims;
  instanceId: string;
  pollIntervalMs: number;
  /** The jobs registered here: runs of other jobs are left for other instances. */
  jobs: KeyFilter;
  /** Lease of a claimed run until its first heartbeat. */
  leaseMs: () => number;
  /** The backend's clock, as estimated locally. */
  backendNow: () => number;
  /** Runs a claimed run; the permit taken for it is released when this settles. */
  run: (claimed: ClaimedRun) => Promise<void>;
}

/**
 * Claims pending runs (one-off runs, retries, buffered and recovered slots)
 * when they come due: woken by backend notifications, by freed permits when
 * runs were left waiting, and by a timer armed for the earliest due run,
 * never later than `pollIntervalMs` (notifications are best effort).
 */
export class DueRunsPoller {
  private readonly timer: Periodic;
  private queued = false;
  private polling = false;
  private again = false;
  /** The last poll left due runs behind for lack of permits. */
  private backlog = false;
  private active = false;

  constructor(private readonly deps: DueRunsPollerDeps) {
    this.timer = new Periodic(deps.clock, () => this.poll(), deps.pollIntervalMs);
  }

  start(): void {
    this.active = true;
    this.timer.start();
    this.queue();
  }

  stop(): void {
    this.active = false;
    this.timer.stop();
  }

  /** Polls on the next microtask (coalesced). */
  queue(): void {
    if (this.queued || !this.active) return;
    this.queued = true;
    queueMicrotask(() => {
      this.queued = false;
      void this.poll().then((wait) => this.timer.arm(wait));
    });
  }

  /** A permit was released: poll only if runs were left waiting for one. */
  permitFreed(): void {
    if (this.backlog) this.queue();
  }

  /** Claims what is due while permits are free; returns how long to wait before the next poll. */
  private async poll(): Promise<number> {
    const { deps } = this;
    if (this.polling) {
      this.again = true;
      return deps.pollIntervalMs;
    }
    if (!this.active || deps.health.isDown) return deps.pollIntervalMs;
    this.polling = true;
    let nextDue: number | null = null;
    let starved = false;
    let lastClaimAt = -Infinity;
    try {
      for (let round = 0; round < MAX_ROUNDS && this.active; round++) {
        // Reserve permits first, so a claimed run never waits with its lease ticking.
        let reserved = 0;
        while (reserved < CLAIM_BATCH && deps.limiter.tryAcquire()) reserved++;
        if (reserved === 0) {
          starved = true;
          break;
        }
        let claimed: ClaimedRun[] = [];
        lastClaimAt = deps.backendNow();
        const runIds = Array.from({ length: reserved }, () => newRunId());
        try {
          const result = await deps.backend.claimDueRuns({ instanceId: deps.instanceId, leaseMs: deps.leaseMs(), runIds, keys: deps.jobs });
          claimed = result.runs;
          nextDue = result.nextDueAt;
        } catch (error) {
          deps.unanswered.failed(runIds, error);
          throw error;
        } finally {
          deps.limiter.returnUnused(reserved - claimed.length);
        }
        for (const run of claimed) void deps.run(run).finally(() => deps.limiter.release());
        if (claimed.length < reserved) break;
        starved = true;
      }
      // Out of permits before any claim: still learn when the next run is due.
      if (lastClaimAt === -Infinity) nextDue = await deps.backend.nextDueAt();
    } catch (error) {
      deps.health.report(error);
    } finally {
      this.polling = false;
    }
    // Only when runs were left waiting for permits does a freed permit poll
    // again; otherwise every finished run would cost two backend calls.
    this.backlog = starved && nextDue !== null && nextDue <= deps.backendNow();
    if (this.again) {
      this.again = false;
      this.queue();
    }
    // A run that was already due when we claimed and was not handed to us is
    // blocked (its job is paused or busy with an exclusive run); notifications
    // wake us when that changes, so wait a full interval rather than spin on
    // it. One that came due since the claim is polled for at once.
    if (nextDue === null || nextDue <= lastClaimAt) return deps.pollIntervalMs;
    return Math.min(Math.max(0, nextDue - deps.backendNow()), deps.pollIntervalMs);
  }
}
