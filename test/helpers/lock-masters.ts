import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll } from 'vitest';
import type { LockLease } from '../../src/lock/distributed-lock.js';
import { RedlockLock } from '../../src/lock/redlock/redlock-lock.js';
import { startMasters, type RedisServer } from './redis-server.js';

/** What a `RedlockLock` test file gets from `useLockMasters`. */
export interface LockMasters {
  /** The masters, in order; a test that restarts one puts the new server in its place. */
  readonly servers: RedisServer[];
  /** A connected lock on the first `count` masters (all by default), closed after the test. */
  newLock(prefix: string, count?: number): Promise<RedlockLock>;
  /** Closes a lock the test made itself after the test. */
  track(lock: RedlockLock): RedlockLock;
  /** A plain client on master `i`, to look at (or tamper with) the keys; disconnected after the test. */
  inspect(i?: number): Promise<Redis>;
}

/**
 * Private Redis masters for the `RedlockLock` tests of one file: started
 * once for the file, stopped after it. After each test the locks and
 * clients it opened are closed, then `afterEachTest` runs (to restore
 * masters the test stopped, or kill processes it started).
 */
export function useLockMasters(count: number, afterEachTest?: () => Promise<void>): LockMasters {
  const servers: RedisServer[] = [];
  const locks: RedlockLock[] = [];
  const inspectors: Redis[] = [];
  beforeAll(async () => {
    servers.push(...(await startMasters(count)));
  });
  afterEach(async () => {
    await Promise.all(locks.splice(0).map((lock) => lock.close()));
    for (const client of inspectors.splice(0)) client.disconnect();
    await afterEachTest?.();
  });
  afterAll(async () => {
    await Promise.all(servers.splice(0).map((server) => server.stop()));
  });
  const track = (lock: RedlockLock): RedlockLock => {
    locks.push(lock);
    return lock;
  };
  return {
    servers,
    track,
    async newLock(prefix, masters = servers.length) {
      const lock = track(new RedlockLock({ masters: servers.slice(0, masters).map((s) => ({ url: s.url })), prefix }));
      await lock.connect();
      return lock;
    },
    async inspect(i = 0) {
      const client = new Redis(servers[i]!.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
      inspectors.push(client);
      await client.connect();
      return client;
    },
  };
}

/** The lease of an acquire that must succeed at once (the lock is free). */
export async function must(lock: RedlockLock, resource: string, ttlMs = 10_000): Promise<LockLease> {
  const lease = await lock.acquire(resource, { ttlMs });
  if (lease === null) throw new Error(`expected to acquire ${resource}`);
  return lease;
}
