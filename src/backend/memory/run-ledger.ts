/**
 * The run ledger: every run of the memory backend indexed by state (pending,
 * active, finished and kept) and the transitions between those states, with
 * the history they write. Separate so backend operations, slot claims and run
 * endings all move runs through one set of transitions and indexes.
 */
import type { HistoryEntry, RunOutcome } from '../backend.js';
import type { JobState } from './job-state.js';
import { PendingRuns } from './pending-runs.js';
import type { RunRecord } from './run-record.js';

/** Every run of a memory backend, indexed by state, and the moves between states. */
export class RunLedger {
  /** Pending runs: the due heap and the runs held back from it. */
  readonly pending = new PendingRuns();
  /** Every active run, so the reaper looks at these only. */
  readonly active = new Set<RunRecord>();
  /** Finished one-off runs (and cancelled slot runs) kept until the retention sweep. */
  readonly done = new Set<RunRecord>();

  /** @param historyLimit History entries kept per job (oldest dropped first). */
  constructor(private readonly historyLimit: number) {}

  /** A pending run becomes active: claimed by `instanceId` as `runId` under a new fencing token. */
  activate(record: RunRecord, runId: string, instanceId: string, leaseMs: number, now: number): void {
    const job = record.job;
    const runs = job.act();
    record.state = 'active';
    record.runId = runId;
    record.instanceId = instanceId;
    record.fencingToken = ++job.fence;
    record.claimedAt = now;
    record.leaseUntil = now + leaseMs;
    runs.active++;
    if (record.exclusive) runs.activeExclusive++;
    this.active.add(record);
  }

  /** An active run stops being active; a waiting exclusive run of its job may move up. */
  deactivate(record: RunRecord): void {
    const runs = record.job.act();
    runs.active--;
    this.active.delete(record);
    if (record.exclusive) {
      runs.activeExclusive--;
      this.pending.promote(record.job);
    }
  }

  /** A finished run: one-off runs stay as `done` for id idempotency, slot runs go. */
  retire(record: RunRecord, outcome: RunOutcome, now: number): void {
    record.outcome = outcome;
    record.finishedAt = now;
    if (record.kind === 'trigger') {
      record.state = 'done';
      this.done.add(record);
    } else {
      record.state = 'gone';
      record.job.activity?.records.delete(record.id);
    }
  }

  /**
   * A pending run cancelled: finished as `cancelled` and kept as done (slot
   * runs too, so a second cancel finds it) until the retention sweep. Its
   * place in the due heap, a parked list or a waiting heap is skipped when met.
   */
  cancelPending(record: RunRecord, now: number): void {
    if (record.where === 'index') this.pending.due.stale++;
    record.state = 'done';
    record.outcome = 'cancelled';
    record.finishedAt = now;
    this.done.add(record);
  }

  /** Appends `entry` to the job's history, keeping the newest `historyLimit`. */
  pushHistory(job: JobState, entry: HistoryEntry): void {
    const history = job.act().history;
    history.push(entry);
    // Stored oldest first; dropping from the front keeps the newest `limit`.
    if (history.length > this.historyLimit) history.splice(0, history.length - this.historyLimit);
  }
}
