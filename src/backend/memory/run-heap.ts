/**
 * The heap that orders pending runs by due time: the due-run index and every
 * job's waiting list are both instances of it.
 */
import { MinHeap } from '../../collections/min-heap.js';
import type { RunRecord } from './run-record.js';

/** Pending runs by (dueAt, seq): equal due times in the order the runs became pending. Removed runs stay until popped (`stale` counts them). */
export class RunHeap extends MinHeap<RunRecord> {
  /** Entries whose run is no longer pending (deleted with its job). */
  stale = 0;

  override rebuild(keep: (record: RunRecord) => boolean): void {
    super.rebuild(keep);
    this.stale = 0;
  }
}
