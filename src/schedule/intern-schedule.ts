import type { Schedule } from './schedule.js';

/** Distinct schedules kept for sharing; past this, new ones are used unshared (still correct). */
const MAX_INTERNED = 10_000;
const interned = new Map<string, Schedule>();

/**
 * Returns the one shared instance of a schedule equal to `schedule` (same
 * descriptor). A service with a million jobs on a few expressions then holds
 * a few schedule objects, not a million. Only for schedkit's own schedule
 * classes: they are immutable, and their descriptors list keys in a fixed
 * order, so the JSON text identifies them.
 */
export function internSchedule<S extends Schedule>(schedule: S): S {
  const key = JSON.stringify(schedule.descriptor);
  const known = interned.get(key);
  if (known !== undefined) return known as S;
  if (interned.size < MAX_INTERNED) interned.set(key, schedule);
  return schedule;
}
