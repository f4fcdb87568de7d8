import type { Redis } from 'ioredis';
import { describe, expect, it, vi } from 'vitest';
import { must, useLockMasters } from '../helpers/lock-masters.js';
import { randomPrefix } from '../helpers/redis-server.js';

/**
 * Three masters: a grant is a vote of a quorum, so a release wakes the head
 * of the queue (from the queue master, in the release's own step) and the
 * head takes the lock with its own attempt on every master.
 */

const { servers, newLock, inspect } = useLockMasters(3);

async function scriptCalls(client: Redis): Promise<{ scripts: number; publish: number }> {
  const info = await client.info('commandstats');
  const calls = (name: string): number => Number(new RegExp(`^cmdstat_${name}:calls=(\\d+)`, 'm').exec(info)?.[1] ?? 0);
  return { scripts: calls('evalsha') + calls('eval'), publish: calls('publish') };
}

describe('RedlockLock on three masters: the release wakes the head', () => {
  it('wakes the head of another instance from the queue master in the release itself: no second call to wake it', async () => {
    const prefix = randomPrefix('wake3');
    const [a, b] = [await newLock(prefix), await newLock(prefix)];
    const queueMaster = await inspect(0);
    for (const lock of [a, b]) await (await must(lock, 'warm')).release(); // each client's script cache
    const holder = await must(a, 'r');
    const waiting = b.acquire('r', { ttlMs: 10_000, waitMs: 5_000 });
    await vi.waitFor(async () => expect(await queueMaster.zcard(`{${prefix}}:lock-queue:r`)).toBe(1), { timeout: 2_000, interval: 5 });
    await queueMaster.config('RESETSTAT');
    const started = Date.now();
    await holder.release();
    const lease = await waiting;
    expect(lease).not.toBeNull();
    expect(lease!.fencingToken).toBeGreaterThan(holder.fencingToken);
    await lease!.release();
    const renewals = Math.floor((Date.now() - started) / 1_000);
    // On the queue master: a's release (which published the wake-up), b's
    // attempt, b's leave once a quorum granted, b's release; no separate
    // wake-up. A failed attempt (a release still on its way to another
    // master) would add one retry.
    const { scripts, publish } = await scriptCalls(queueMaster);
    expect(publish).toBe(1);
    expect(scripts).toBeGreaterThanOrEqual(4);
    expect(scripts).toBeLessThanOrEqual(5 + renewals);
    expect(await queueMaster.exists(`{${prefix}}:lock-queue:r`)).toBe(0);
  });

  it('wakes a head of the releasing instance from the release reply: nothing published', async () => {
    const prefix = randomPrefix('wake3');
    const lock = await newLock(prefix);
    const queueMaster = await inspect(0);
    await (await must(lock, 'warm')).release(); // script cache
    const holder = await must(lock, 'r');
    const waiting = lock.acquire('r', { ttlMs: 10_000, waitMs: 5_000 });
    await vi.waitFor(async () => expect(await queueMaster.zcard(`{${prefix}}:lock-queue:r`)).toBe(1), { timeout: 2_000, interval: 5 });
    // As in the one-master hand-over test: let the acquire's reply reach the
    // lock (no public event says so), so the release knows its waiter.
    await new Promise((resolve) => setTimeout(resolve, 50));
    await queueMaster.config('RESETSTAT');
    await holder.release();
    const lease = await waiting;
    expect(lease).not.toBeNull();
    expect(lease!.fencingToken).toBeGreaterThan(holder.fencingToken);
    await lease!.release();
    expect((await scriptCalls(queueMaster)).publish).toBe(0);
  });

  it('a head whose attempt only the queue master granted keeps its place at the head', async () => {
    const prefix = randomPrefix('wake3');
    const [a, b, c] = [await newLock(prefix), await newLock(prefix), await newLock(prefix)];
    const clients = await Promise.all(servers.map((_s, i) => inspect(i)));
    const queueKey = `{${prefix}}:lock-queue:r`;
    const lockKey = `{${prefix}}:lock:r`;
    const holder = await must(a, 'r');
    const order: string[] = [];
    const first = b.acquire('r', { ttlMs: 10_000, waitMs: 8_000 }).then(async (lease) => {
      order.push('b');
      await lease?.release();
    });
    await vi.waitFor(async () => expect(await clients[0]!.zcard(queueKey)).toBe(1), { timeout: 2_000, interval: 5 });
    const [bTicket] = await clients[0]!.zrange(queueKey, '0', '0');
    const second = c.acquire('r', { ttlMs: 10_000, waitMs: 8_000 }).then(async (lease) => {
      order.push('c');
      await lease?.release();
    });
    await vi.waitFor(async () => expect(await clients[0]!.zcard(queueKey)).toBe(2), { timeout: 2_000, interval: 5 });
    // The holder's key goes on the queue master only; someone else holds the other two.
    await clients[0]!.del(lockKey);
    await clients[1]!.set(lockKey, 'someone-else');
    await clients[2]!.set(lockKey, 'someone-else');
    // Wake b, as a release would: its attempt gets the queue master only.
    const fence = Number(await clients[0]!.get(`{${prefix}}:lock-fence`));
    await clients[0]!.publish(`{${prefix}}:lock-wake:${bTicket!.slice(0, bTicket!.indexOf('.'))}`, bTicket!);
    await vi.waitFor(async () => expect(Number(await clients[0]!.get(`{${prefix}}:lock-fence`))).toBeGreaterThan(fence), { timeout: 2_000, interval: 2 });
    // b gave its vote back; its ticket stayed at the head all along (taken
    // off before a quorum is known, c could have started an attempt of its
    // own and split the votes).
    await vi.waitFor(
      async () => {
        expect(await clients[0]!.zrange(queueKey, '0', '-1')).toEqual([bTicket, expect.any(String)]);
        expect(await clients[0]!.exists(lockKey)).toBe(0);
      },
      { timeout: 2_000, interval: 2 },
    );
    await clients[1]!.del(lockKey);
    await clients[2]!.del(lockKey);
    await Promise.all([first, second]);
    expect(order).toEqual(['b', 'c']);
    await holder.release();
  }, 20_000);
});
