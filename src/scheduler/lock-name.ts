/**
 * The lock resource that guards one claimed run.
 *
 * - An exclusive run (overlap 'skip' / 'queue') locks its job: `job:<key>`.
 * - Any other run locks itself: `run:<key length>:<key>:<run id>`.
 *
 * The job key's length is written before it because both a job key and a run
 * id may contain `:`: with a plain separator, job `a:b` with run id `c` and
 * job `a` with run id `b:c` would both lock `run:/a:b:c` and hold each other
 * out. With the length, the key ends where the prefix says, so no two
 * (job, run) pairs share a name whatever characters they contain. The `job:`
 * and `run:` prefixes keep the two kinds apart.
 */
export function runLockName(jobKey: string, runId: string, exclusive: boolean): string {
  return exclusive ? `job:${jobKey}` : `run:${jobKey.length}:${jobKey}:${runId}`;
}
