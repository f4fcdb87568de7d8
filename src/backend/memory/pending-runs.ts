/**
 * Where pending runs wait: the due heap that polls read, and each job's parked
 * list and waiting heap for runs that may not run yet. Separate because the
 * rule "only claimable runs sit in the due heap" is what keeps polls cheap,
 * and it is easier to keep true when all moves between these places are here.
 */
import type { JobState } from './job-state.js';
import { RunHeap } from './run-heap.js';
import type { RunRecord } from './run-record.js';

/** The pending runs of a memory backend and where each one waits. */
export class PendingRuns {
  /** Pending runs a poll may claim, earliest first. */
  readonly due = new RunHeap();
  /** Orders pending runs with the same due time by when they became pending. */
  private seq = 0;

  /** Makes `record` pending again, due at `dueAt`, and places it (see `place`). */
  toPending(record: RunRecord, dueAt: number): void {
    record.state = 'pending';
    record.dueAt = dueAt;
    record.seq = ++this.seq;
    this.place(record);
  }

  /**
   * Puts a pending run where it waits: in the due heap only when a poll may
   * claim it. A paused job's runs are parked until it is resumed; exclusive
   * runs of a job with an active exclusive run (or a paused job) wait in the
   * job's own heap, and the earliest goes back when it may run (`promote`):
   * one per end of an exclusive run, so a backlog is never walked per poll.
   */
  place(record: RunRecord): void {
    const job = record.job;
    if (record.exclusive && (job.paused || (job.activity?.activeExclusive ?? 0) > 0)) {
      (job.act().waiting ??= new RunHeap()).push(record);
      record.where = 'waiting';
    } else if (job.paused) {
      job.act().parked.push(record);
      record.where = 'parked';
    } else {
      this.due.push(record);
      record.where = 'index';
    }
  }

  /** A resumed job: its parked runs go back to the due heap (they keep their order keys). */
  unpark(job: JobState): void {
    const activity = job.activity;
    if (activity === undefined) return;
    const parked = activity.parked.splice(0);
    for (const record of parked) {
      if (record.state !== 'pending') continue;
      this.due.push(record);
      record.where = 'index';
    }
    this.promote(job);
  }

  /** Moves the earliest waiting exclusive run of `job` to the due heap when nothing holds it back. */
  promote(job: JobState): void {
    const activity = job.activity;
    if (job.paused || activity === undefined || activity.activeExclusive > 0 || activity.waiting === undefined) return;
    for (let record = activity.waiting.pop(); record !== undefined; record = activity.waiting.pop()) {
      if (record.state !== 'pending') continue;
      this.due.push(record);
      record.where = 'index';
      return;
    }
  }

  /** Drops removed runs from the top of the heap, and rebuilds it when they pile up inside. */
  pruneStale(): void {
    while (this.due.stale > 0) {
      const top = this.due.peek();
      if (top === undefined || top.state === 'pending') break;
      this.due.pop();
      this.due.stale--;
    }
    if (this.due.stale > 1024 && this.due.stale * 2 > this.due.size) {
      this.due.rebuild((record) => record.state === 'pending');
    }
  }

  /** The due time of the earliest run a poll may claim, or null. */
  earliestDue(): number | null {
    this.pruneStale();
    return this.due.peek()?.dueAt ?? null;
  }
}
