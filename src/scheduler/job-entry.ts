/**
 * A registered job as the scheduler tracks it, and the slots it queues: where
 * this instance is in the job's schedule, and which earlier slots its next
 * claim vouches for (`SlotClaim.previousSlots`).
 */
import type { NormalizedJob } from '../job/normalize-job.js';

/** A registered job and where this instance is in its schedule. */
export interface JobEntry {
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
  /**
   * The newest slot whose claim by this instance the store answered
   * (claimed, taken, skipped...): no slot up to it needs vouching for.
   */
  answeredThrough: number;
}

/**
 * A slot in the due queue, queued at the slot plus its jitter offset; stale
 * when its token no longer matches the entry's.
 */
export interface QueueItem {
  entry: JobEntry;
  token: number;
  slot: number;
  /**
   * The slots before this one whose claim by this instance the store had not
   * answered when it was queued, newest first: its claim vouches for those
   * still unanswered then (see `SlotClaim.previousSlots`).
   */
  previous: readonly number[];
}

/** No previous slots: shared, never written. */
export const NONE: readonly number[] = Object.freeze([]);
/** Most previous slots one claim vouches for (`SlotClaim.previousSlots`). */
export const MAX_PREVIOUS = 8;

/** The slots of `previous` this instance has no answer for (see `JobEntry.answeredThrough`); `previous` itself when that is all of them. */
export function unanswered(entry: JobEntry, previous: readonly number[]): readonly number[] {
  if (previous.length === 0 || previous[previous.length - 1]! > entry.answeredThrough) return previous;
  const left = previous.filter((s) => s > entry.answeredThrough);
  return left.length === 0 ? NONE : left;
}
