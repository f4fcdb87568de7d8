import type { Clock } from '../clock/clock.js';
import { ErrorCode, SchedkitError } from '../errors/schedkit-error.js';
import { messages } from '../errors/messages.js';
import type { DistributedLock, UsingOptions } from './distributed-lock.js';
import { LeaseKeeper } from './lease-keeper.js';
import { assertUsing } from './lock-input.js';

/**
 * The body of `DistributedLock.using`, shared by every implementation:
 * acquire, refresh in the background, run `fn`, stop refreshing, release.
 */
export async function usingLock<T>(
  lock: DistributedLock,
  clock: Clock,
  resource: string,
  options: UsingOptions,
  fn: (signal: AbortSignal, fencingToken: number) => Promise<T> | T,
): Promise<T> {
  const refreshMs = assertUsing(resource, options, fn);
  const lease = await lock.acquire(resource, options);
  if (lease === null) {
    throw new SchedkitError(ErrorCode.LockNotAcquired, messages.lockNotAcquired(resource), { details: { resource } });
  }
  const keeper = new LeaseKeeper(clock, refreshMs, () => lease.extend(), resource).start();
  let result: { ok: true; value: T } | { ok: false; error: unknown };
  try {
    result = { ok: true, value: await fn(keeper.signal, lease.fencingToken) };
  } catch (error) {
    result = { ok: false, error };
  }
  await keeper.stop();
  await lease.release();
  if (!result.ok) throw result.error;
  // Work that finished after the lock was lost ran without mutual exclusion:
  // the caller must hear about it even though `fn` resolved.
  if (keeper.signal.aborted) throw keeper.signal.reason;
  return result.value;
}
