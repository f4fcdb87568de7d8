import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { DistributedLock, LockLease } from '../lock/distributed-lock.js';
import { SchedkitError } from '../errors/schedkit-error.js';
import { rejection, type LockHarness } from './harness.js';

const TTL = 300;
const PAST_TTL = 450;

/**
 * The executable form of the `DistributedLock` contract, run unchanged
 * against every implementation (memory, Redlock on one Redis, Redlock on a
 * quorum). Times are relative: the harness moves time, the test never reads
 * a clock.
 *
 * It checks acquire and release, fencing tokens, `extend`, waiting
 * (first come, first served; `waitMs`), rejection of bad input with
 * `E_INVALID_ARGUMENT`, and `using` (background refresh, `E_LOCK_NOT_ACQUIRED`,
 * `E_LOCK_LOST` when the lock is lost while `fn` runs).
 *
 * `makeHarness` is called before every test and must answer a fresh lock
 * (no resource held), an `advance(ms)` that moves lock time forward with
 * timers running, a `freeze(ms)` that moves it forward while this process's
 * timers cannot run, and a `close()` that frees what the harness started.
 *
 * It registers vitest tests (a `describe` named `Lock conformance: <label>`),
 * so call it at the top level of a vitest test file.
 *
 * @example
 * describeLockConformance('memory', async () => {
 *   const clock = new FakeClock();
 *   return {
 *     lock: new MemoryLock({ clock }),
 *     advance: (ms) => clock.advance(ms),
 *     freeze: async (ms) => {
 *       clock.set(clock.now() + ms);
 *       await clock.advance(0);
 *     },
 *     close: async () => {},
 *   };
 * });
 */
export function describeLockConformance(label: string, makeHarness: () => Promise<LockHarness>): void {
  describe(`Lock conformance: ${label}`, () => {
    let harness: LockHarness;
    let lock: DistributedLock;

    beforeEach(async () => {
      harness = await makeHarness();
      lock = harness.lock;
    });

    afterEach(async () => {
      await harness.close();
    });

    async function must(resource: string, ttlMs = TTL): Promise<LockLease> {
      const lease = await lock.acquire(resource, { ttlMs });
      if (lease === null) throw new Error(`expected to acquire ${resource}`);
      return lease;
    }

    describe('acquire / release', () => {
      it('grants a free lock, and answers null while it is held', async () => {
        const lease = await must('res:a');
        expect(lease.resource).toBe('res:a');
        expect(lease.fencingToken).toBeGreaterThan(0);
        expect(Number.isFinite(lease.expiresAt)).toBe(true);
        expect(lease.isReleased).toBe(false);
        expect(await lock.acquire('res:a', { ttlMs: TTL })).toBeNull();
        expect(await lock.acquire('res:a', { ttlMs: TTL, waitMs: 0 })).toBeNull();
        // Other resources are independent.
        expect(await lock.acquire('res:b', { ttlMs: TTL })).not.toBeNull();
      });

      it('can be taken again after release', async () => {
        const first = await must('res:r');
        await first.release();
        expect(first.isReleased).toBe(true);
        const second = await must('res:r');
        expect(second.fencingToken).toBeGreaterThan(first.fencingToken);
      });

      it('can be taken again after the TTL expires', async () => {
        const first = await must('res:exp');
        await harness.advance(PAST_TTL);
        const second = await lock.acquire('res:exp', { ttlMs: TTL });
        expect(second).not.toBeNull();
        expect(second!.fencingToken).toBeGreaterThan(first.fencingToken);
      });

      it('hands out strictly increasing fencing tokens per resource', async () => {
        const tokens: number[] = [];
        for (let i = 0; i < 5; i++) {
          const lease = await must('res:fence');
          tokens.push(lease.fencingToken);
          await lease.release();
          // Activity on another resource must not break the sequence.
          await (await must(`res:other-${i}`)).release();
        }
        for (let i = 1; i < tokens.length; i++) expect(tokens[i]).toBeGreaterThan(tokens[i - 1]!);
      });

      it('release is idempotent and never rejects, even after expiry', async () => {
        const lease = await must('res:idem');
        await lease.release();
        await expect(lease.release()).resolves.toBeUndefined();
        const expired = await must('res:idem2');
        await harness.advance(PAST_TTL);
        await expect(expired.release()).resolves.toBeUndefined();
        await expect(expired.release()).resolves.toBeUndefined();
      });

      it('releasing an expired lease does not free the lock its next holder took', async () => {
        const old = await must('res:next');
        await harness.advance(PAST_TTL);
        const next = await must('res:next');
        await old.release();
        expect(old.isReleased).toBe(true);
        expect(next.isReleased).toBe(false);
        expect(await lock.acquire('res:next', { ttlMs: TTL })).toBeNull();
        await expect(next.extend()).resolves.toBeUndefined();
      });
    });

    describe('extend', () => {
      it('keeps the lock alive past the original TTL', async () => {
        const lease = await must('res:ext');
        const firstExpiry = lease.expiresAt;
        await harness.advance(200);
        await lease.extend();
        expect(lease.expiresAt).toBeGreaterThan(firstExpiry);
        await harness.advance(200); // past the original TTL, within the extension
        expect(await lock.acquire('res:ext', { ttlMs: TTL })).toBeNull();
        expect(lease.isReleased).toBe(false);
        await lease.extend(1_000);
        await harness.advance(PAST_TTL);
        expect(await lock.acquire('res:ext', { ttlMs: TTL })).toBeNull();
      });

      it('rejects with LockLostError after expiry', async () => {
        const lease = await must('res:late');
        await harness.advance(PAST_TTL);
        const error = await rejection(lease.extend());
        expect(SchedkitError.is(error, 'E_LOCK_LOST')).toBe(true);
        expect((error as Error).message).toContain('res:late');
        expect(lease.isReleased).toBe(true);
      });

      it('rejects with LockLostError after release', async () => {
        const lease = await must('res:rel');
        await lease.release();
        expect(SchedkitError.is(await rejection(lease.extend()), 'E_LOCK_LOST')).toBe(true);
      });

      it('rejects once someone else took the lock, and the old lease cannot release it', async () => {
        const old = await must('res:take');
        await harness.advance(PAST_TTL);
        const usurper = await must('res:take');
        expect(usurper.fencingToken).toBeGreaterThan(old.fencingToken);
        expect(SchedkitError.is(await rejection(old.extend()), 'E_LOCK_LOST')).toBe(true);
        await old.release();
        expect(await lock.acquire('res:take', { ttlMs: TTL })).toBeNull();
        await expect(usurper.extend()).resolves.toBeUndefined();
      });
    });

    describe('waiting', () => {
      it('serves waiters first come, first served, each on the release', async () => {
        const holder = await must('res:queue');
        const order: string[] = [];
        const wait = (name: string) =>
          lock.acquire('res:queue', { ttlMs: 2_000, waitMs: 3_000 }).then((lease) => {
            order.push(name);
            return lease;
          });
        const b = wait('b');
        await harness.advance(10);
        const c = wait('c');
        await harness.advance(10);
        const d = wait('d');
        await harness.advance(10);
        expect(order).toEqual([]);

        await holder.release();
        const leaseB = await b;
        expect(leaseB).not.toBeNull();
        expect(order).toEqual(['b']);
        await leaseB!.release();
        const leaseC = await c;
        expect(order).toEqual(['b', 'c']);
        await leaseC!.release();
        const leaseD = await d;
        expect(order).toEqual(['b', 'c', 'd']);
        expect(leaseB!.fencingToken).toBeGreaterThan(holder.fencingToken);
        expect(leaseC!.fencingToken).toBeGreaterThan(leaseB!.fencingToken);
        expect(leaseD!.fencingToken).toBeGreaterThan(leaseC!.fencingToken);
        await leaseD!.release();
      });

      it('gives up with null at waitMs while the holder keeps it', async () => {
        const holder = await must('res:giveup', 5_000);
        const waiting = lock.acquire('res:giveup', { ttlMs: TTL, waitMs: 200 });
        let settled = false;
        void waiting.then(() => {
          settled = true;
        });
        await harness.advance(100);
        expect(settled).toBe(false);
        await harness.advance(250);
        expect(await waiting).toBeNull();
        expect(holder.isReleased).toBe(false);
        await holder.release();
      });

      it('wakes a waiter when the holder expires', async () => {
        const holder = await must('res:wake');
        const waiting = lock.acquire('res:wake', { ttlMs: TTL, waitMs: 2_000 });
        await harness.advance(PAST_TTL);
        const lease = await waiting;
        expect(lease).not.toBeNull();
        expect(lease!.fencingToken).toBeGreaterThan(holder.fencingToken);
        expect(SchedkitError.is(await rejection(holder.extend()), 'E_LOCK_LOST')).toBe(true);
        await lease!.release();
      });
    });

    describe('bad input', () => {
      const cases: [string, string, unknown, Record<string, unknown>][] = [
        ['empty resource', 'resource', '', { ttlMs: TTL }],
        ['resource over 1000 characters', 'resource', 'r'.repeat(1_001), { ttlMs: TTL }],
        ['resource not a string', 'resource', 42, { ttlMs: TTL }],
        ['ttlMs zero', 'ttlMs', 'res:bad', { ttlMs: 0 }],
        ['ttlMs negative', 'ttlMs', 'res:bad', { ttlMs: -5 }],
        ['ttlMs fractional', 'ttlMs', 'res:bad', { ttlMs: 1.5 }],
        ['ttlMs NaN', 'ttlMs', 'res:bad', { ttlMs: Number.NaN }],
        ['ttlMs too large', 'ttlMs', 'res:bad', { ttlMs: 2 ** 31 }],
        ['ttlMs missing', 'ttlMs', 'res:bad', {}],
        ['waitMs negative', 'waitMs', 'res:bad', { ttlMs: TTL, waitMs: -1 }],
        ['waitMs NaN', 'waitMs', 'res:bad', { ttlMs: TTL, waitMs: Number.NaN }],
        ['waitMs infinite', 'waitMs', 'res:bad', { ttlMs: TTL, waitMs: Number.POSITIVE_INFINITY }],
      ];
      for (const [name, field, resource, options] of cases) {
        it(`rejects ${name} with E_INVALID_ARGUMENT naming ${field}`, async () => {
          const error = await rejection(lock.acquire(resource as string, options as { ttlMs: number }));
          expect(SchedkitError.is(error, 'E_INVALID_ARGUMENT')).toBe(true);
          expect((error as Error).message).toContain(field);
        });
      }

      it('accepts a resource of exactly 1000 characters and leaves good locks alone', async () => {
        const held = await must('res:good');
        await rejection(lock.acquire('res:good', { ttlMs: -1 }));
        expect(await lock.acquire('res:good', { ttlMs: TTL })).toBeNull();
        expect(await lock.acquire('r'.repeat(1_000), { ttlMs: TTL })).not.toBeNull();
        await held.release();
      });
    });

    describe('using', () => {
      it('runs fn with a fencing token while holding the lock, then releases it', async () => {
        let seenToken = 0;
        const result = await lock.using('res:use', { ttlMs: TTL }, async (signal, token) => {
          seenToken = token;
          expect(signal.aborted).toBe(false);
          expect(await lock.acquire('res:use', { ttlMs: TTL })).toBeNull();
          return 'value';
        });
        expect(result).toBe('value');
        expect(seenToken).toBeGreaterThan(0);
        const after = await must('res:use');
        expect(after.fencingToken).toBeGreaterThan(seenToken);
      });

      it('keeps the lock past its TTL while fn runs', async () => {
        const done = lock.using('res:long', { ttlMs: TTL, refreshMs: 100 }, async () => {
          await harness.advance(2 * PAST_TTL);
          return lock.acquire('res:long', { ttlMs: TTL });
        });
        expect(await done).toBeNull();
        expect(await lock.acquire('res:long', { ttlMs: TTL })).not.toBeNull();
      });

      it('rejects with E_LOCK_NOT_ACQUIRED when the lock is held, without calling fn', async () => {
        await must('res:busy', 5_000);
        let called = false;
        const error = await rejection(
          lock.using('res:busy', { ttlMs: TTL }, () => {
            called = true;
          }),
        );
        expect(SchedkitError.is(error, 'E_LOCK_NOT_ACQUIRED')).toBe(true);
        expect(called).toBe(false);
      });

      it('waits up to waitMs for the lock', async () => {
        const holder = await must('res:usewait', 5_000);
        const done = lock.using('res:usewait', { ttlMs: TTL, waitMs: 2_000 }, (_signal, token) => token);
        await harness.advance(50);
        await holder.release();
        expect(await done).toBeGreaterThan(holder.fencingToken);
      });

      it('rejects with the error fn throws and releases the lock', async () => {
        const boom = new Error('boom');
        expect(
          await rejection(
            lock.using('res:throw', { ttlMs: TTL }, () => {
              throw boom;
            }),
          ),
        ).toBe(boom);
        expect(await lock.acquire('res:throw', { ttlMs: TTL })).not.toBeNull();
      });

      it('aborts the signal with E_LOCK_LOST when the lock is lost, and rejects even though fn resolved', async () => {
        let seen: AbortSignal | undefined;
        let takenOver: LockLease | null = null;
        const error = await rejection(
          lock.using('res:lost', { ttlMs: TTL, refreshMs: 100 }, async (signal) => {
            seen = signal;
            // The process stalls past the TTL: the refresh comes too late.
            await harness.freeze(2 * PAST_TTL);
            await vi.waitFor(() => expect(signal.aborted).toBe(true), { timeout: 2_000, interval: 10 });
            takenOver = await lock.acquire('res:lost', { ttlMs: 5_000 });
            return 'finished without the lock';
          }),
        );
        expect(SchedkitError.is(error, 'E_LOCK_LOST')).toBe(true);
        expect(SchedkitError.is(seen?.reason, 'E_LOCK_LOST')).toBe(true);
        expect(takenOver).not.toBeNull();
        // Releasing the lost lease at the end of `using` did not free the new holder's lock.
        expect(await lock.acquire('res:lost', { ttlMs: TTL })).toBeNull();
      });

      it('rejects a refreshMs that is not below ttlMs with E_INVALID_ARGUMENT', async () => {
        const error = await rejection(lock.using('res:cfg', { ttlMs: TTL, refreshMs: TTL }, () => 1));
        expect(SchedkitError.is(error, 'E_INVALID_ARGUMENT')).toBe(true);
        expect(await lock.acquire('res:cfg', { ttlMs: TTL })).not.toBeNull();
      });
    });
  });
}
