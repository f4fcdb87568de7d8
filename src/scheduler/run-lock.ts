/**
 * Taking the lock of a claimed run, for the runs that take one (see
 * `runLockName`): a run of a lock group, and every run when the scheduler's
 * `lockRuns` is set. A run needs no lock otherwise: its claim's lease is its
 * lock (see `RunLeases`).
 *
 * A run waits for its lock rather than give up at once: the run was claimed,
 * so whoever holds the lock is finishing another run (a buffered slot, a
 * one-off run handed back by an instance that is shutting down, or, in a lock
 * group, a run of another job of the group). A job's own lock is waited for
 * up to `lockTtlMs`. A group lock may be held by another job's run for as
 * long as that run takes, so a run of a group waits up to its own
 * `timeoutMs` (at least `lockTtlMs`) — the wait a user expects from "these
 * jobs never run at once": the later one starts when the earlier one ends,
 * its lateness showing the wait. While it waits it heartbeats its claim so no
 * instance reaps it as stalled; when the wait runs out it is put back (the
 * runner's `interrupted`) and claimed again.
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

/**
 * Takes `resource` for the run `ref` of `job`; null when it stayed held for
 * the whole wait, or (group) when the run was reaped or removed meanwhile.
 * Rejects when the lock cannot be reached. `signal` (shutdown) ends the wait.
 */
export async function acquireRunLock(
  deps: RunLockDeps,
  job: NormalizedJob,
  ref: ActiveRunRef,
  resource: string,
  signal: AbortSignal,
): Promise<LockLease | null> {
  if (job.lockKey === null) return deps.lock.acquire(resource, { ttlMs: job.lockTtlMs, waitMs: job.lockTtlMs, signal });
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
