/**
 * Job definitions shared between jobs, and the registry that hands them out.
 * Separate because sharing (refcounts, hash collisions) is a memory-saving
 * concern of its own, independent of how jobs and runs change state.
 */
import type { JobUpsert } from '../backend.js';
import type { ScheduleDescriptor } from '../../schedule/schedule.js';

/**
 * A job definition (schedule, limit, hash), shared by every job that has the
 * same one: a fleet of per-tenant jobs on one cron costs one copy.
 */
export class Definition {
  refs = 0;
  constructor(
    readonly hash: string,
    readonly schedule: ScheduleDescriptor | null,
    readonly limit: number | null,
  ) {}
}

/** Definitions by hash, dropped when no job uses them. */
export class DefinitionRegistry {
  private readonly byHash = new Map<string, Definition>();

  /** The shared definition for this upsert, or a private one when the hash is shared by a different schedule. */
  acquire(upsert: JobUpsert): Definition {
    const known = this.byHash.get(upsert.definitionHash);
    if (known !== undefined && known.limit === upsert.limit && sameSchedule(known.schedule, upsert.schedule)) {
      known.refs++;
      return known;
    }
    const def = new Definition(upsert.definitionHash, copySchedule(upsert.schedule), upsert.limit);
    def.refs = 1;
    if (known === undefined) this.byHash.set(def.hash, def);
    return def;
  }

  release(def: Definition): void {
    def.refs--;
    if (def.refs <= 0 && this.byHash.get(def.hash) === def) this.byHash.delete(def.hash);
  }
}

function sameSchedule(a: ScheduleDescriptor | null, b: ScheduleDescriptor | null): boolean {
  if (a === null || b === null) return a === b;
  const ka = Object.keys(a) as (keyof ScheduleDescriptor)[];
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => a[k] === b[k]);
}

export function copySchedule(schedule: ScheduleDescriptor | null): ScheduleDescriptor | null {
  return schedule === null ? null : { ...schedule };
}
