/**
 * Taking the lock of a lock group for a claimed run. A run needs no lock of
 * its own (the claim's lease is its lock, see `RunLeases`); a run of a job
 * with a `lockKey` also takes `group:<lockKey>`, so runs of every job that
 * names the key exclude each other (whatever their overlap policy),
 * cluster-wide. A lock key is one name from the name charset after its own
 * prefix, so a group lock never shares its name with any other lock of the
 * namespace (`probe:<instance>`, or the user's own resources).
 *
 * A run waits for its group's lock rather than give up at once: another
 * job's run of the group may hold it for as long as that run takes, so a run
 * waits up to its own `timeoutMs` (at least `lockTtlMs`) — the wait a user
 * expects from "these jobs never run at once": the later one starts when the
 * earlier one ends, its lateness showing the wait. While it waits it
 * heartbeats its claim so no instance reaps it as stalled; when the wait
 * runs out it is put back (the runner's `interrupted`) and claimed again.
 */
import type { ActiveRunRef, Backend } from '../backend/backend.js';
import type { Clock } from '../clock/clock.js';
import type { NormalizedJob } from '../job/normalize-job.js';
import type { DistributedLock, LockLease } from '../lock/distributed-lock.js';
import { LeaseKeeper } from '../lock/lease-keeper.js';

/** What taking a run's lock needs. */
export interface RunLockDeps {
  lock: DistributedLock;
  backend: Backend;
  clock: Clock;
}

/** The lock resource of a lock group. */
export function groupLockName(lockKey: string): string {
  return `group:${lockKey}`;
}

/**
 * Takes `resource` (the group's lock) for the run `ref` of `job`; null when
 * it stayed held for the whole wait, or when the run was reaped or removed
 * meanwhile. Rejects when the lock cannot be reached. `signal` (shutdown)
 * ends the wait.
 */
export async function acquireGroupLock(
  deps: RunLockDeps,
  job: NormalizedJob,
  ref: ActiveRunRef,
  resource: string,
  signal: AbortSignal,
): Promise<LockLease | null> {
  const waitMs = Math.max(job.lockTtlMs, job.timeoutMs);
  // The wait may outlast the claim's lease (lockTtlMs): heartbeat the claim
  // meanwhile. One controller for both reasons to stop.
  const stop = new AbortController();
  const onShutdown = (): void => stop.abort(signal.reason);
  if (signal.aborted) stop.abort(signal.reason);
  else signal.addEventListener('abort', onShutdown, { once: true });
  const keeper = new LeaseKeeper(
    deps.clock,
    job.lockRefreshMs,
    async () => {
      const [alive] = await deps.backend.heartbeat([ref], job.lockTtlMs);
      if (alive === false) throw new Error('the run was reaped as stalled or its job removed while it waited for its lock group');
    },
    resource,
    stop,
  ).start();
  try {
    return await deps.lock.acquire(resource, { ttlMs: job.lockTtlMs, waitMs, signal: stop.signal });
  } finally {
    await keeper.stop();
    signal.removeEventListener('abort', onShutdown);
  }
}
