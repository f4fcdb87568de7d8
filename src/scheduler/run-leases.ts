/**
 * The leases of every run this instance holds, refreshed together.
 *
 * A claimed run is its own lock: the backend's claim leased it to this
 * instance (fencing token, lease until claim + `lockTtlMs`), and no other
 * instance can start it, nor another exclusive run of its job, while that
 * lease lives. So a run needs no lock of its own; what it needs is its lease
 * kept alive while its handler runs. Rather than one timer and one store
 * call per run, runs that share a refresh period share one timer, and each
 * tick extends all of them in one `Backend.heartbeat` call (per 1,000 runs):
 * the store work of keeping runs alive is one call per refresh period,
 * whatever the number of runs.
 *
 * A run whose lease could not be extended (the store answered that the run
 * was reaped or its job removed, or the store could not be reached) is told
 * at once through `lost`, which aborts its handler with `LockLostError`
 * (SPEC §4.4); so is a run whose lease runs out while a refresh waits for a
 * store that does not answer (frozen, partitioned): it is lost when its
 * lease ends by this instance's clock (aligned on the store's, less a drift
 * margin), not when the call gives up. A run `cancel(id, { abort: true })`
 * asked to stop is told through `cancel`.
 */
import type { ActiveRunRef, Backend } from '../backend/backend.js';
import type { Clock, TimerHandle } from '../clock/clock.js';
import { LockLostError } from '../errors/schedkit-error.js';
import { messages } from '../errors/messages.js';

/** Runs extended per heartbeat call. */
const HEARTBEAT_BATCH = 1_000;

/** One run whose lease is kept alive, and how to tell it what became of it. */
export interface LeasedRun {
  readonly ref: ActiveRunRef;
  /** How far each refresh extends the lease (the job's `lockTtlMs`). */
  readonly leaseMs: number;
  /** How often the lease is refreshed (the job's `lockRefreshMs`). */
  readonly refreshMs: number;
  /**
   * Until when the lease surely holds, by the runs' clock: the claim's time
   * (or the send time of the last refresh the store took) + `leaseMs`, less
   * `driftMs(leaseMs)`. Moved on by each refresh taken.
   */
  validUntil: number;
  /** The lease is lost: stop the handler. */
  lost(error: LockLostError): void;
  /** `cancelRun` asked this run to stop. */
  cancel(): void;
}

/** Runs sharing one refresh period, and their timer. */
interface RefreshGroup {
  readonly runs: Set<LeasedRun>;
  timer: TimerHandle | undefined;
  /** The refresh in flight, if any. */
  inFlight: Promise<void> | undefined;
}

export class RunLeases {
  private readonly groups = new Map<number, RefreshGroup>();

  constructor(
    private readonly backend: Backend,
    private readonly clock: Clock,
  ) {}

  /** Starts keeping `run`'s lease alive. */
  add(run: LeasedRun): void {
    let group = this.groups.get(run.refreshMs);
    if (group === undefined) {
      group = { runs: new Set(), timer: undefined, inFlight: undefined };
      this.groups.set(run.refreshMs, group);
    }
    group.runs.add(run);
    if (group.timer === undefined && group.inFlight === undefined) this.arm(run.refreshMs, group);
  }

  /** Stops keeping `run`'s lease alive (its outcome is recorded, or it was given up). A reply still in flight is ignored. */
  delete(run: LeasedRun): void {
    const group = this.groups.get(run.refreshMs);
    if (group === undefined || !group.runs.delete(run) || group.runs.size > 0) return;
    if (group.timer !== undefined) this.clock.clearTimeout(group.timer);
    group.timer = undefined;
    if (group.inFlight === undefined) this.groups.delete(run.refreshMs);
  }

  /**
   * Stops every refresh; the runs' leases then run out in the store. A
   * refresh in flight is not waited for (a frozen store may never answer
   * it): its reply is ignored.
   */
  stop(): void {
    for (const group of this.groups.values()) {
      if (group.timer !== undefined) this.clock.clearTimeout(group.timer);
      group.timer = undefined;
      group.runs.clear();
    }
    this.groups.clear();
  }

  private arm(refreshMs: number, group: RefreshGroup): void {
    group.timer = this.clock.setTimeout(() => {
      group.timer = undefined;
      group.inFlight = this.refresh(group).finally(() => {
        group.inFlight = undefined;
        if (group.runs.size > 0) this.arm(refreshMs, group);
        else if (this.groups.get(refreshMs) === group) this.groups.delete(refreshMs);
      });
    }, refreshMs);
  }

  private async refresh(group: RefreshGroup): Promise<void> {
    // A lease already over (the event loop was blocked past it) is lost now,
    // before anything else this turn: a handler's write must not win the race
    // against the news.
    const now = this.clock.now();
    for (const run of group.runs) {
      if (run.validUntil > now) continue;
      group.runs.delete(run);
      run.lost(lostError(run, 'its lease ran out before it could be refreshed (this process was held up past it)'));
    }
    // Runs of one refresh period nearly always share one lease length too;
    // a call per length keeps the backend's contract (one lease per call).
    const byLease = new Map<number, LeasedRun[]>();
    for (const run of group.runs) {
      const runs = byLease.get(run.leaseMs);
      if (runs === undefined) byLease.set(run.leaseMs, [run]);
      else runs.push(run);
    }
    const calls: Array<Promise<void>> = [];
    for (const [leaseMs, runs] of byLease) {
      for (let i = 0; i < runs.length; i += HEARTBEAT_BATCH) calls.push(this.extend(group, runs.slice(i, i + HEARTBEAT_BATCH), leaseMs));
    }
    await Promise.all(calls);
  }

  private async extend(group: RefreshGroup, runs: LeasedRun[], leaseMs: number): Promise<void> {
    const sentAt = this.clock.now();
    let expiry: TimerHandle | undefined;
    // A store that does not answer (frozen) must not keep a run going past its lease.
    const expireDue = (): void => {
      expiry = undefined;
      const now = this.clock.now();
      let next = Infinity;
      for (const run of runs) {
        if (!group.runs.has(run)) continue;
        if (run.validUntil <= now) {
          group.runs.delete(run);
          run.lost(lostError(run, `its lease ran out (${leaseMs} ms) before the store answered a refresh`));
        } else next = Math.min(next, run.validUntil);
      }
      if (next !== Infinity) expiry = this.clock.setTimeout(expireDue, next - now);
    };
    expiry = this.clock.setTimeout(expireDue, Math.max(0, Math.min(...runs.map((run) => run.validUntil)) - sentAt));
    let replies;
    try {
      replies = await this.backend.heartbeat(
        runs.map((run) => run.ref),
        leaseMs,
      );
    } catch (error) {
      // Unreachable store: the lease cannot be known to hold, so nothing may go on running under it.
      for (const run of runs) {
        if (group.runs.delete(run)) run.lost(lostError(run, error instanceof Error ? error.message : String(error), error));
      }
      return;
    } finally {
      if (expiry !== undefined) this.clock.clearTimeout(expiry);
    }
    const validUntil = sentAt + leaseMs - driftMs(leaseMs);
    for (let i = 0; i < runs.length; i++) {
      const run = runs[i]!;
      // Recorded (or given up) while the call was in flight: the reply no longer matters.
      if (!group.runs.has(run)) continue;
      const reply = replies[i];
      if (reply === true || reply === 'cancel') run.validUntil = validUntil;
      if (reply === 'cancel') run.cancel();
      else if (reply !== true) {
        group.runs.delete(run);
        run.lost(lostError(run, 'the run was reaped as stalled by another instance, or its job was removed'));
      }
    }
  }
}

/**
 * How much earlier than its end a lease is taken as gone: clocks drift and
 * the aligned clock is off the store's by up to half a round trip (Redlock's
 * rule: 1 % of the TTL + 2 ms).
 */
export function driftMs(leaseMs: number): number {
  return Math.floor(leaseMs * 0.01) + 2;
}

function lostError(run: LeasedRun, why: string, cause?: unknown): LockLostError {
  return new LockLostError(messages.lockLost(`run ${run.ref.key}#${run.ref.id}`, why), cause === undefined ? undefined : { cause });
}
