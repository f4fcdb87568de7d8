/**
 * The registered job whose name is closest to a name that is not registered,
 * so "not registered" can say "did you mean ...". Separate from the scheduler
 * because it is a pure string search; it only runs on the error path.
 */

/** A registered job's identity. */
export interface JobIdentity {
  readonly name: string;
  readonly tenantId: string | undefined;
}

/**
 * The job among `registered` whose name is closest to `name` by edit distance
 * (insertions, deletions, substitutions and swaps of two adjacent characters),
 * when that distance is at most `max(2, name.length / 3)`; undefined
 * otherwise. A job of the same tenant wins over a closer job of another
 * tenant: the caller most likely mistyped the name, not the tenant. Ties go
 * to the first registered.
 *
 * @example
 * closestJob('repotr', undefined, [{ name: 'report', tenantId: undefined }]); // { name: 'report', ... }
 */
export function closestJob(name: string, tenantId: string | undefined, registered: Iterable<JobIdentity>): JobIdentity | undefined {
  const limit = Math.max(2, Math.floor(name.length / 3));
  let sameTenant: JobIdentity | undefined;
  let sameDistance = limit + 1;
  let otherTenant: JobIdentity | undefined;
  let otherDistance = limit + 1;
  for (const job of registered) {
    const same = job.tenantId === tenantId;
    const best = same ? sameDistance : otherDistance;
    const distance = editDistance(name, job.name, best - 1);
    if (distance >= best) continue;
    if (same) {
      sameTenant = job;
      sameDistance = distance;
    } else {
      otherTenant = job;
      otherDistance = distance;
    }
  }
  return sameTenant ?? otherTenant;
}

/**
 * Optimal string alignment distance between `a` and `b`, or `bound + 1`
 * as soon as it is known to exceed `bound` (names far apart cost little).
 */
export function editDistance(a: string, b: string, bound: number = Number.POSITIVE_INFINITY): number {
  if (Math.abs(a.length - b.length) > bound) return bound + 1;
  const width = b.length + 1;
  // Three rows: the one two back is needed for adjacent swaps.
  let twoBack = new Array<number>(width).fill(0);
  let previous = Array.from({ length: width }, (_, j) => j);
  let current = new Array<number>(width).fill(0);
  for (let i = 1; i <= a.length; i++) {
    current[0] = i;
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      let d = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && a.charCodeAt(i - 1) === b.charCodeAt(j - 2) && a.charCodeAt(i - 2) === b.charCodeAt(j - 1)) {
        d = Math.min(d, twoBack[j - 2]! + 1);
      }
      current[j] = d;
      if (d < rowMin) rowMin = d;
    }
    if (rowMin > bound) return bound + 1;
    [twoBack, previous, current] = [previous, current, twoBack];
  }
  return Math.min(previous[b.length]!, bound + 1);
}
