import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { describe, expect, it, vi } from 'vitest';
import type { RedlockLock } from '../../src/lock/redlock/redlock-lock.js';
import { must, useLockMasters } from '../helpers/lock-masters.js';
import { NodeProcess } from '../helpers/node-process.js';
import { randomPrefix } from '../helpers/redis-server.js';
import type { WaiterProcessConfig } from './redlock-waiter-process.js';

/**
 * One master: a release grants the lock straight to the waiter at the head
 * of the queue, in whatever process (or lock instance) it waits, and tells
 * it over pub/sub. Each instance here has its own connections, as a second
 * process would; two tests run a real second process.
 */

const WAITER_SCRIPT = fileURLToPath(new URL('./redlock-waiter-process.ts', import.meta.url));

const processes: NodeProcess[] = [];
const { servers, newLock, inspect } = useLockMasters(1, async () => {
  await Promise.all(processes.splice(0).map((p) => p.kill()));
});

/** Calls per command since the last CONFIG RESETSTAT. */
async function commandStats(client: Redis): Promise<Record<string, number>> {
  const info = await client.info('commandstats');
  const stats: Record<string, number> = {};
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) stats[match[1]!] = Number(match[2]);
  return stats;
}

const keysOf = (prefix: string, resource: string) => ({
  lock: `{${prefix}}:lock:${resource}`,
  fence: `{${prefix}}:lock-fence`,
  queue: `{${prefix}}:lock-queue:${resource}`,
  deadlines: `{${prefix}}:lock-queue-deadlines:${resource}`,
});

/**
 * A namespace of its own: two lock instances on it (each client's script
 * cache warmed), `a` holding `resource`, a client to inspect it, and the
 * resource's keys.
 */
async function held(resource: string, ttlMs = 10_000) {
  const prefix = randomPrefix('grant');
  const [a, b] = [await newLock(prefix), await newLock(prefix)];
  for (const lock of [a, b]) await (await must(lock, 'warm')).release();
  const redis = await inspect();
  const holder = await must(a, resource, ttlMs);
  return { prefix, a, b, redis, keys: keysOf(prefix, resource), holder };
}

/** Until at least `count` tickets are on the queue. */
async function queued(redis: Redis, queueKey: string, count: number): Promise<void> {
  await vi.waitFor(async () => expect(await redis.zcard(queueKey)).toBeGreaterThanOrEqual(count), { timeout: 2_000, interval: 5 });
}

/**
 * What release-4.lua does when it grants the lock to the head, minus the
 * message: a grant whose message was lost. `ranOut`: a grant that has
 * expired already (the key is left as it is).
 */
async function grantWithoutMessage(redis: Redis, prefix: string, resource: string, ranOut = false): Promise<{ ticket: string; fence: number }> {
  const keys = keysOf(prefix, resource);
  const [ticket] = await redis.zrange(keys.queue, '0', '0');
  if (ticket === undefined) throw new Error('nobody queued');
  const ttl = Number(/\/(\d+)$/.exec(ticket)![1]);
  const fence = await redis.incr(keys.fence);
  if (!ranOut) await redis.set(keys.lock, `${ticket}#${fence}`, 'PX', ttl);
  await redis.zrem(keys.queue, ticket);
  await redis.hdel(keys.deadlines, ticket);
  return { ticket, fence };
}

describe('RedlockLock on one master: the release grants the lock to the next waiter', () => {
  it('hands the lock to a waiter of another instance with the next fencing token; that waiter sends only the extension of its grant to its TTL', async () => {
    const { a, b, redis, keys, holder } = await held('handoff');
    const waiting = b.acquire('handoff', { ttlMs: 10_000, waitMs: 5_000 });
    await queued(redis, keys.queue, 1);
    await redis.config('RESETSTAT');
    const released = Date.now();
    await holder.release();
    const next = await waiting;
    const elapsed = Date.now() - released;
    const stats = await commandStats(redis);
    expect(next).not.toBeNull();
    expect(next!.fencingToken).toBe(holder.fencingToken + 1);
    // Two scripts since the reset: a's release, which granted (for the rest
    // of b's ticket lease) and published, and b's extension of that grant to
    // its TTL. b took no attempt; only a ticket renewal (once a second) could add one.
    const renewals = Math.floor(elapsed / 1_000);
    const scripts = (stats.evalsha ?? 0) + (stats.eval ?? 0);
    expect(scripts).toBeGreaterThanOrEqual(2);
    expect(scripts).toBeLessThanOrEqual(2 + renewals);
    expect(stats.publish).toBe(1);
    expect(stats.set).toBe(2); // the grant's, and the extension's (redlock's script sets the key again)
    expect(await redis.pttl(keys.lock)).toBeGreaterThan(9_000);
    expect(await redis.exists(keys.queue)).toBe(0);
    // The key is b's: held for everyone else, freed by b's release.
    expect(await a.acquire('handoff', { ttlMs: 1_000 })).toBeNull();
    await next!.release();
    expect(await redis.exists(keys.lock)).toBe(0);
    const again = await must(a, 'handoff');
    expect(again.fencingToken).toBe(next!.fencingToken + 1);
    await again.release();
  });

  it('serves waiters of two processes in arrival order, with increasing fencing tokens', async () => {
    const prefix = randomPrefix('grant');
    const lock = await newLock(prefix);
    const redis = await inspect();
    const keys = keysOf(prefix, 'fifo');
    const TURNS = 8;
    const childTurns = [1, 2, 5, 7];
    const config: WaiterProcessConfig = { url: servers[0]!.url, prefix, resource: 'fifo', turns: childTurns, holdMs: 5 };
    const child = new NodeProcess('lock waiter process', WAITER_SCRIPT, { REDLOCK_WAITER: JSON.stringify(config) });
    processes.push(child);
    await child.waitForLine('ready', {}, 20_000);

    const holder = await must(lock, 'fifo');
    const grants: Array<{ turn: number; token: number }> = [];
    const mine: Array<Promise<void>> = [];
    for (let turn = 0; turn < TURNS; turn++) {
      if (childTurns.includes(turn)) {
        await child.waitForLine('queued', { turn }, 5_000);
        continue;
      }
      await queued(redis, keys.queue, turn);
      mine.push(
        lock.acquire('fifo', { ttlMs: 10_000, waitMs: 20_000 }).then(async (lease) => {
          expect(lease).not.toBeNull();
          grants.push({ turn, token: lease!.fencingToken });
          await new Promise((resolve) => setTimeout(resolve, 5));
          await lease!.release();
        }),
      );
      await queued(redis, keys.queue, turn + 1);
    }
    await holder.release();
    await Promise.all(mine);
    await child.waitForExit(20_000);
    for (const line of child.find('acquired')) grants.push({ turn: line.turn as number, token: line.token as number });
    grants.sort((x, y) => x.token - y.token);
    expect(grants.map((g) => g.turn)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(grants[0]!.token).toBeGreaterThan(holder.fencingToken);
    expect(await redis.exists(keys.queue, keys.deadlines, keys.lock)).toBe(0);
  }, 60_000);

  it('a waiter killed (SIGKILL) while queued holds a lock granted to it no longer than its ticket lease, not its 30 s TTL: the live waiters behind it get the lock within seconds, one at a time', async () => {
    const TTL = 30_000;
    const { prefix, b, redis, keys, holder } = await held('dead-waiter', TTL);
    const heldFrom = Date.now();
    const c = await newLock(prefix);
    const spans: Array<{ who: string; token: number; from: number; to: number }> = [];
    // The child queues first (turn 0), asking for a 30 s lock; it renews its ticket every second until it dies.
    const config: WaiterProcessConfig = { url: servers[0]!.url, prefix, resource: 'dead-waiter', turns: [0], holdMs: 0, ttlMs: TTL, waitMs: 60_000 };
    const child = new NodeProcess('lock waiter process', WAITER_SCRIPT, { REDLOCK_WAITER: JSON.stringify(config) });
    processes.push(child);
    await child.waitForLine('queued', { turn: 0 }, 20_000);
    const [deadTicket] = await redis.zrange(keys.queue, '0', '0');
    expect(deadTicket).toMatch(/\/30000$/);
    // Two live waiters behind it, in two other instances.
    const live = (lock: RedlockLock, who: string): Promise<number> =>
      lock.acquire('dead-waiter', { ttlMs: TTL, waitMs: 40_000 }).then(async (lease) => {
        expect(lease, who).not.toBeNull();
        const from = Date.now();
        await new Promise((resolve) => setTimeout(resolve, 50));
        spans.push({ who, token: lease!.fencingToken, from, to: Date.now() });
        await lease!.release();
        return from;
      });
    const bGot = live(b, 'b');
    await queued(redis, keys.queue, 2);
    const cGot = live(c, 'c');
    await queued(redis, keys.queue, 3);

    // The child dies with its ticket at the head, renewed within the last second.
    child.signal('SIGKILL');
    expect((await child.exited).signal).toBe('SIGKILL');
    const releasedAt = Date.now();
    await holder.release();
    spans.push({ who: 'holder', token: holder.fencingToken, from: heldFrom, to: releasedAt });
    // The release granted the lock to the dead waiter's live ticket, but only
    // for the rest of that ticket's lease.
    expect((await redis.get(keys.lock))?.startsWith(`${deadTicket}#`)).toBe(true);
    expect(await redis.pttl(keys.lock)).toBeLessThanOrEqual(3_000);

    const [bFrom, cFrom] = await Promise.all([bGot, cGot]);
    // Well under the dead waiter's TTL: its grant ran out with its ticket lease (3 s at most).
    expect(bFrom - releasedAt).toBeLessThan(10_000);
    expect(cFrom - releasedAt).toBeLessThan(10_000);
    // One holder at a time, in queue order, with increasing fencing tokens
    // (the dead waiter's grant took one in between).
    spans.sort((x, y) => x.token - y.token);
    expect(spans.map((span) => span.who)).toEqual(['holder', 'b', 'c']);
    for (let i = 1; i < spans.length; i++) expect(spans[i]!.from).toBeGreaterThanOrEqual(spans[i - 1]!.to);
    expect(spans[1]!.token).toBeGreaterThan(holder.fencingToken + 1);
    expect(child.find('acquired')).toEqual([]);
    expect(await redis.exists(keys.lock, keys.queue)).toBe(0);
  }, 60_000);

  it('a waiter whose grant message was lost finds the lock its own at its next renewal, within its wait', async () => {
    const { prefix, b, redis, keys, holder } = await held('lost');
    const waiting = b.acquire('lost', { ttlMs: 10_000, waitMs: 5_000 });
    await queued(redis, keys.queue, 1);
    // The holder's key goes (it expired, say) and the lock is granted to b,
    // but the message never comes.
    await redis.del(keys.lock);
    const { fence } = await grantWithoutMessage(redis, prefix, 'lost');
    const granted = Date.now();
    const lease = await waiting;
    expect(lease).not.toBeNull();
    expect(lease!.fencingToken).toBe(fence);
    // A renewal is due at most a second after the waiter's last one.
    expect(Date.now() - granted).toBeLessThan(1_500);
    await lease!.extend(10_000);
    expect(await redis.pttl(keys.lock)).toBeGreaterThan(9_000);
    await lease!.release();
    expect(await redis.exists(keys.lock)).toBe(0);
    await holder.release(); // its key is long gone: nothing to do
  });

  it('a waiter told of a grant that is no longer in the key (it ran out first) does not take the lock: it queues again and the next release serves it', async () => {
    const { prefix, b, redis, keys, holder } = await held('expired-grant');
    let acquiredAt = Number.POSITIVE_INFINITY;
    const waiting = b.acquire('expired-grant', { ttlMs: 10_000, waitMs: 10_000 }).then((lease) => {
      acquiredAt = Date.now();
      return lease;
    });
    await queued(redis, keys.queue, 1);
    // A grant to b that ran out before its message came: taken off the queue,
    // a fence spent, the key not b's (the holder's still).
    const { ticket, fence } = await grantWithoutMessage(redis, prefix, 'expired-grant', true);
    await redis.publish(`{${prefix}}:lock-wake:${ticket.slice(0, ticket.indexOf('.'))}`, `${ticket}#${fence}`);
    // b tries to extend it, finds the key not its own, and queues again.
    await queued(redis, keys.queue, 1);
    expect(await redis.get(keys.lock)).not.toContain(ticket);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(acquiredAt).toBe(Number.POSITIVE_INFINITY);
    const releasedAt = Date.now();
    await holder.release();
    const lease = await waiting;
    expect(lease).not.toBeNull();
    expect(acquiredAt).toBeGreaterThanOrEqual(releasedAt);
    expect(lease!.fencingToken).toBeGreaterThan(fence);
    await lease!.release();
    expect(await redis.exists(keys.lock, keys.queue)).toBe(0);
  });

  it('a waiter that misses a grant while its wake-up connection is away finds it once it is back', async () => {
    const { b, redis, keys, holder } = await held('away');
    const waiting = b.acquire('away', { ttlMs: 10_000, waitMs: 5_000 });
    await queued(redis, keys.queue, 1);
    // Every subscriber connection drops; the release's message reaches nobody.
    await redis.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
    await holder.release();
    const lease = await waiting;
    expect(lease).not.toBeNull();
    expect(lease!.fencingToken).toBe(holder.fencingToken + 1);
    await lease!.release();
  });

  it('never grants the lock to a ticket whose lease ran out: the next live waiter gets it', async () => {
    const { b, redis, keys, holder } = await held('dead');
    const waiting = b.acquire('dead', { ttlMs: 10_000, waitMs: 5_000 });
    await queued(redis, keys.queue, 1);
    // Ahead of b: a waiter that queued (asking for a 60 s lock) and died, its lease over.
    const [seconds] = await redis.time();
    await redis.zadd(keys.queue, 0, 'dead-instance.1/60000');
    await redis.hset(keys.deadlines, 'dead-instance.1/60000', Number(seconds) * 1000 - 1);
    await holder.release();
    const lease = await waiting;
    expect(lease).not.toBeNull();
    expect(lease!.fencingToken).toBe(holder.fencingToken + 1);
    expect(await redis.get(keys.lock)).toMatch(/^[^#]+#\d+$/);
    expect(await redis.get(keys.lock)).not.toContain('dead-instance');
    expect(await redis.zscore(keys.queue, 'dead-instance.1/60000')).toBeNull();
    await lease!.release();
  });

  it('never grants the lock to a waiter that gave up: after an abort the release leaves the lock free', async () => {
    const { b, redis, keys, holder } = await held('abort');
    const controller = new AbortController();
    const waiting = b.acquire('abort', { ttlMs: 10_000, waitMs: 5_000, signal: controller.signal });
    await queued(redis, keys.queue, 1);
    controller.abort();
    expect(await waiting).toBeNull();
    expect(await redis.exists(keys.queue)).toBe(0);
    await holder.release();
    expect(await redis.exists(keys.lock)).toBe(0);
  });

  it('a waiter whose wait ends while a grant is on its way gives the lock back, to the next waiter', async () => {
    const { prefix, b, redis, keys, holder } = await held('late');
    const c = await newLock(prefix);
    const controller = new AbortController();
    const quitting = b.acquire('late', { ttlMs: 10_000, waitMs: 5_000, signal: controller.signal });
    await queued(redis, keys.queue, 1);
    const next = c.acquire('late', { ttlMs: 10_000, waitMs: 5_000 });
    await queued(redis, keys.queue, 2);
    // The lock goes to b, whose message has not arrived when b gives up.
    await redis.del(keys.lock);
    const { fence } = await grantWithoutMessage(redis, prefix, 'late');
    controller.abort();
    expect(await quitting).toBeNull();
    // b's leave gave it back in the same step, and granted it to c.
    const lease = await next;
    expect(lease).not.toBeNull();
    expect(lease!.fencingToken).toBe(fence + 1);
    await lease!.release();
    expect(await redis.exists(keys.lock, keys.queue)).toBe(0);
    await holder.release();
  });

  it('a waiter whose waitMs runs out while a grant is on its way leaves the lock free, not held until its TTL', async () => {
    const { prefix, b, redis, keys, holder } = await held('timeout');
    const waiting = b.acquire('timeout', { ttlMs: 60_000, waitMs: 300 });
    await queued(redis, keys.queue, 1);
    await redis.del(keys.lock);
    await grantWithoutMessage(redis, prefix, 'timeout');
    expect(await waiting).toBeNull();
    expect(await redis.exists(keys.lock, keys.queue)).toBe(0);
    await holder.release();
  });
});
