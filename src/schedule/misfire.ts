/**
 * The slot planner: given the newest slot already handled and the time now,
 * which slots run now (catch-ups by the misfire policy, plus the ones on
 * time), how many were missed, and which slot comes next. Pure: no clock, no
 * I/O, every loop bounded, so a week offline with a per-second job plans in
 * milliseconds.
 */
import type { MisfirePolicy } from '../job/job-definition.js';
import type { Schedule } from './schedule.js';

/** What `planSlots` needs. All instants are epoch ms. */
export interface SlotPlanInput {
  schedule: Schedule;
  /** Newest slot already handled, or a baseline time: only slots strictly after it are due. */
  after: number;
  now: number;
  policy: MisfirePolicy;
  /** `run-all` runs at most this many missed slots (the newest ones). */
  maxCatchUp: number;
  /** A slot at or after `now - graceMs` is on time; an older one is missed. */
  graceMs: number;
}

/** What to do now. */
export interface SlotPlan {
  /** Slots to run now, ascending: the missed slots the policy keeps, then every on-time slot. */
  dueNow: number[];
  /** Count of missed slots (due but older than the grace period), capped at `MAX_MISSED_COUNT`. */
  missed: number;
  /** Missed slots the policy will not run. */
  dropped: number;
  /**
   * The dropped slots are exactly the slots s with `after < s < droppedBefore`
   * (the oldest kept catch-up, or the start of the grace period): logged, so
   * a reader can tell a dropped slot from a lost one. Null when none is dropped.
   */
  droppedBefore: number | null;
  /** The first slot strictly after `max(now, after)`, or null when the schedule has ended. */
  next: number | null;
}

/**
 * Optional capability of a schedule: count its slots in an open interval
 * without walking them. `IntervalSchedule` and `OnceSchedule` have it; other
 * schedules are walked (at most `cap` steps).
 */
export interface SlotCounter {
  /** Number of slots s with `after < s < before`, at most `cap`. */
  countSlots(after: number, before: number, cap: number): number;
}

/** `SlotPlan.missed` never exceeds this: counting stops there. */
export const MAX_MISSED_COUNT = 100_000;

/**
 * At most this many on-time slots are returned (a sub-second schedule with a
 * long grace period could have many); older on-time slots beyond it are
 * treated as missed.
 */
export const MAX_ON_TIME = 10_000;

/**
 * Plans the slots in `(after, now]`.
 *
 * - on time: `now - graceMs <= s <= now`, always run;
 * - missed: `after < s < now - graceMs`; `skip` runs none, `run-once` the
 *   newest one, `run-all` the newest `maxCatchUp`.
 *
 * Cost: about `MAX_ON_TIME + maxCatchUp` prev() calls at worst, plus the
 * count (computed for intervals, at most `MAX_MISSED_COUNT` next() calls
 * otherwise), whatever the gap.
 */
export function planSlots(input: SlotPlanInput): SlotPlan {
  const { schedule, after, now, policy } = input;
  const graceMs = Math.max(0, input.graceMs);
  const maxCatchUp = Math.max(0, Math.floor(input.maxCatchUp));
  const prev = (at: number): number | null => toMs(schedule.prev(new Date(at)));
  const next = toMs(schedule.next(new Date(Math.max(now, after))));

  // On-time slots, newest first, walking back from now.
  const onTime: number[] = [];
  for (let s = prev(now); s !== null && s > after && s >= now - graceMs && onTime.length < MAX_ON_TIME; s = prev(s - 1)) {
    onTime.push(s);
  }
  onTime.reverse();
  // Missed slots lie in (after, missedBefore).
  const missedBefore = onTime.length === MAX_ON_TIME ? (onTime[0] as number) : now - graceMs;

  const newest = prev(missedBefore - 1);
  if (newest === null || newest <= after) return { dueNow: onTime, missed: 0, dropped: 0, droppedBefore: null, next };

  // The missed slots the policy keeps, newest first.
  const kept: number[] = [];
  const keep = policy === 'skip' ? 0 : policy === 'run-once' ? 1 : maxCatchUp;
  let reachedAfter = false;
  for (let s: number | null = newest; kept.length < keep; s = prev(s - 1)) {
    if (s === null || s <= after) {
      reachedAfter = true;
      break;
    }
    kept.push(s);
  }
  kept.reverse();
  // When the walk back ran out of slots, it has seen them all: no need to count.
  const missed = reachedAfter ? kept.length : countSlots(schedule, after, missedBefore);
  const dropped = Math.max(0, missed - kept.length);
  return { dueNow: kept.concat(onTime), missed, dropped, droppedBefore: dropped === 0 ? null : (kept[0] ?? missedBefore), next };
}

/** Slots in (after, before), at most MAX_MISSED_COUNT. */
function countSlots(schedule: Schedule, after: number, before: number): number {
  const counter = schedule as Partial<SlotCounter>;
  if (typeof counter.countSlots === 'function') return counter.countSlots(after, before, MAX_MISSED_COUNT);
  let count = 0;
  for (let s = toMs(schedule.next(new Date(after))); s !== null && s < before && count < MAX_MISSED_COUNT; s = toMs(schedule.next(new Date(s)))) {
    count++;
  }
  return count;
}

function toMs(date: Date | null): number | null {
  return date === null ? null : date.getTime();
}
