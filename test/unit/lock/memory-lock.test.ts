import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../src/clock/fake-clock.js';
import { SchedkitError } from '../../../src/errors/schedkit-error.js';
import type { LockLease } from '../../../src/lock/distributed-lock.js';
import { MemoryLock } from '../../../src/lock/memory-lock.js';

function setup() {
  const clock = new FakeClock();
  return { clock, lock: new MemoryLock({ clock }) };
}

async function must(lock: MemoryLock, resource: string, ttlMs = 1_000): Promise<LockLease> {
  const lease = await lock.acquire(resource, { ttlMs });
  if (lease === null) throw new Error(`expected to acquire ${resource}`);
  return lease;
}

async function lostMessage(lease: LockLease): Promise<string> {
  try {
    await lease.extend();
  } catch (error) {
    expect(SchedkitError.is(error, 'E_LOCK_LOST')).toBe(true);
    return (error as Error).message;
  }
  throw new Error('expected extend to reject');
}

describe('MemoryLock', () => {
  it('sets expiresAt from its clock and extends it from now', async () => {
    const { clock, lock } = setup();
    const lease = await must(lock, 'r', 1_000);
    expect(lease.expiresAt).toBe(clock.now() + 1_000);
    await clock.advance(400);
    await lease.extend(2_000);
    expect(lease.expiresAt).toBe(clock.now() + 2_000);
    await lease.extend();
    expect(lease.expiresAt).toBe(clock.now() + 1_000);
  });

  it('treats the lock as free from the instant it expires', async () => {
    const { clock, lock } = setup();
    await must(lock, 'r', 1_000);
    await clock.advance(999);
    expect(await lock.acquire('r', { ttlMs: 10 })).toBeNull();
    await clock.advance(1);
    expect(await lock.acquire('r', { ttlMs: 10 })).not.toBeNull();
  });

  it('reports isReleased once the TTL passed, even before anyone noticed', async () => {
    const { clock, lock } = setup();
    const lease = await must(lock, 'r', 1_000);
    await clock.advance(1_000);
    expect(lease.isReleased).toBe(true);
  });

  it('says why a lease was lost: released, expired, taken over', async () => {
    const { clock, lock } = setup();
    const released = await must(lock, 'a');
    await released.release();
    expect(await lostMessage(released)).toMatch(/lock "a" was lost: it was released/);

    const expired = await must(lock, 'b', 1_000);
    await clock.advance(1_500);
    expect(await lostMessage(expired)).toMatch(/lock "b" was lost: it expired at \d{4}-/);

    const old = await must(lock, 'c', 1_000);
    await clock.advance(1_500);
    const usurper = await must(lock, 'c');
    expect(await lostMessage(old)).toContain(`taken over by another owner (fencing token ${usurper.fencingToken})`);
  });

  it('rejects a bad extend TTL with E_INVALID_ARGUMENT and keeps the lease', async () => {
    const { lock } = setup();
    const lease = await must(lock, 'r');
    for (const bad of [0, -1, 2.5, Number.NaN]) {
      let error: unknown;
      try {
        await lease.extend(bad);
      } catch (e) {
        error = e;
      }
      expect(SchedkitError.is(error, 'E_INVALID_ARGUMENT')).toBe(true);
    }
    expect(lease.isReleased).toBe(false);
    await expect(lease.extend()).resolves.toBeUndefined();
  });

  it('a waiter stops waiting (null) when its signal aborts, and the next waiter is served', async () => {
    const { clock, lock } = setup();
    const holder = await must(lock, 'r');
    const controller = new AbortController();
    const aborted = lock.acquire('r', { ttlMs: 1_000, waitMs: 10_000, signal: controller.signal });
    const next = lock.acquire('r', { ttlMs: 1_000, waitMs: 10_000 });
    await clock.advance(10);
    controller.abort();
    expect(await aborted).toBeNull();
    await holder.release();
    const lease = await next;
    expect(lease).not.toBeNull();
    expect(lease!.fencingToken).toBeGreaterThan(holder.fencingToken);
  });

  it('an already aborted signal does not wait for a held lock, and does not stop a free one', async () => {
    const { lock } = setup();
    const signal = AbortSignal.abort();
    expect(await lock.acquire('free', { ttlMs: 1_000, waitMs: 5_000, signal })).not.toBeNull();
    expect(await lock.acquire('free', { ttlMs: 1_000, waitMs: 5_000, signal })).toBeNull();
  });

  it('a new caller cannot jump the queue when the holder expired before the expiry timer ran', async () => {
    const { clock, lock } = setup();
    await must(lock, 'r', 1_000);
    const waiter = lock.acquire('r', { ttlMs: 1_000, waitMs: 5_000 });
    clock.set(clock.now() + 1_500); // the holder expired; no timer has fired yet
    expect(await lock.acquire('r', { ttlMs: 1_000 })).toBeNull();
    expect(await waiter).not.toBeNull();
  });

  it('wakes a waiter at the extended expiry, not the original one', async () => {
    const { clock, lock } = setup();
    const holder = await must(lock, 'r', 1_000);
    let got: LockLease | null | undefined;
    void lock.acquire('r', { ttlMs: 1_000, waitMs: 10_000 }).then((lease) => {
      got = lease;
    });
    await clock.advance(500);
    await holder.extend(2_000); // now expires at 2500
    await clock.advance(1_000); // 1500: past the original expiry
    expect(got).toBeUndefined();
    await clock.advance(1_000); // 2500
    expect(got).not.toBeNull();
    expect(got).toBeDefined();
  });

  it('a waiter whose deadline falls on the instant the holder expires gets the lock', async () => {
    const { clock, lock } = setup();
    const holder = await must(lock, 'r', 1_000);
    let got: LockLease | null | undefined;
    void lock.acquire('r', { ttlMs: 1_000, waitMs: 2_000 }).then((lease) => {
      got = lease;
    });
    await clock.advance(500);
    await holder.extend(1_500); // expires at 2000, the waiter's deadline
    await clock.advance(1_500);
    expect(got).not.toBeNull();
    expect(got).toBeDefined();
  });

  it('waits longer than 30 s by re-arming short timers, and gives up exactly at waitMs', async () => {
    const { clock, lock } = setup();
    await must(lock, 'r', 10 * 60_000);
    let got: LockLease | null | undefined;
    void lock.acquire('r', { ttlMs: 1_000, waitMs: 90_000 }).then((lease) => {
      got = lease;
    });
    await clock.advance(0);
    // No timer is armed further out than 30 s.
    expect(clock.nextTimerAt()! - clock.now()).toBeLessThanOrEqual(30_000);
    await clock.advance(89_999);
    expect(got).toBeUndefined();
    await clock.advance(1);
    expect(got).toBeNull();
  });

  it('leaves no timers behind once nobody waits', async () => {
    const { clock, lock } = setup();
    const holder = await must(lock, 'r', 1_000);
    const a = lock.acquire('r', { ttlMs: 1_000, waitMs: 5_000 });
    const b = lock.acquire('r', { ttlMs: 1_000, waitMs: 100 });
    await clock.advance(200);
    expect(await b).toBeNull();
    await holder.release();
    const leaseA = await a;
    expect(leaseA).not.toBeNull();
    expect(clock.pendingTimers).toBe(0);
    await leaseA!.release();
    await lock.using('u', { ttlMs: 1_000 }, () => undefined);
    expect(clock.pendingTimers).toBe(0);
  });

  it('fencing tokens never go back, across resources and after every lock was released', async () => {
    const { lock } = setup();
    const seen: number[] = [];
    for (let i = 0; i < 10; i++) {
      const lease = await must(lock, i % 2 === 0 ? 'x' : 'y');
      seen.push(lease.fencingToken);
      await lease.release();
    }
    expect([...seen].sort((p, q) => p - q)).toEqual(seen);
    expect(new Set(seen).size).toBe(seen.length);
  });
});
