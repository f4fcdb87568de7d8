/**
 * The lock resource that guards one claimed run, when it takes one: a run of
 * a lock group always does, any run when the scheduler's `lockRuns` is set.
 *
 * - A run of a job with a `lockKey` locks its group: `group:<lockKey>`, so
 *   runs of every job that names the key exclude each other (whatever their
 *   overlap policy), cluster-wide.
 * - An exclusive run (overlap 'skip' / 'queue') locks its job: `job:<key>`.
 * - Any other run locks itself: `run:<key length>:<key>:<run id>`.
 *
 * The job key's length is written before it because both a job key and a run
 * id may contain `:`: with a plain separator, job `a:b` with run id `c` and
 * job `a` with run id `b:c` would both lock `run:/a:b:c` and hold each other
 * out. With the length, the key ends where the prefix says, so no two
 * (job, run) pairs share a name whatever characters they contain. The
 * `group:`, `job:` and `run:` prefixes keep the three kinds apart: a lock key
 * is one name from the name charset and sits after its own prefix, so no
 * group is ever named like a job or a run lock.
 */
export function runLockName(jobKey: string, runId: string, exclusive: boolean, lockKey: string | null = null): string {
  if (lockKey !== null) return groupLockName(lockKey);
  return exclusive ? `job:${jobKey}` : `run:${jobKey.length}:${jobKey}:${runId}`;
}

/** The lock resource of a lock group. */
export function groupLockName(lockKey: string): string {
  return `group:${lockKey}`;
}
