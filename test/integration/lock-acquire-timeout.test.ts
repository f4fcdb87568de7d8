import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SchedkitError } from '../../src/errors/schedkit-error.js';
import { RedlockLock } from '../../src/lock/redlock/redlock-lock.js';
import { randomPrefix, startRedis, type RedisServer } from '../helpers/redis-server.js';

let redis: RedisServer;
let admin: Redis;
beforeAll(async () => {
  redis = await startRedis();
  admin = new Redis({ host: redis.host, port: redis.port });
});
afterAll(async () => {
  redis?.resume();
  admin?.disconnect();
  await redis?.stop();
});

/*
 * A lock acquire whose reply comes after the client's command timeout (a
 * saturated Redis, an event loop blocked past the timeout) still runs in
 * Redis and takes the lock, with a value nobody holds. With several masters
 * a failed attempt gives its value back everywhere (Redlock); with one master
 * it must too, or the resource stays locked by nobody for the whole TTL (the
 * scheduler then puts every run of that job back, "held by another run").
 */
describe('RedlockLock, one master: an acquire that timed out here', () => {
  it('gives its value back, so the lock is not held by nobody until its TTL runs out', async () => {
    const prefix = randomPrefix('acquire-timeout');
    const lock = new RedlockLock({ masters: [{ url: redis.url, options: { commandTimeout: 100 } }], prefix });
    await lock.connect();
    try {
      redis.pause();
      const failed = await lock.acquire('report', { ttlMs: 30_000 }).then(
        () => null,
        (error: unknown) => error,
      );
      expect(SchedkitError.is(failed, 'E_BACKEND_UNAVAILABLE'), String(failed)).toBe(true);
      redis.resume(); // the acquire runs now, after its caller gave up on it
      await admin.ping();
      await expect.poll(() => admin.exists(`{${prefix}}:lock:report`), { timeout: 2_000 }).toBe(0);
      const lease = await lock.acquire('report', { ttlMs: 30_000 });
      expect(lease).not.toBeNull();
      await lease?.release();
    } finally {
      redis.resume();
      await lock.close();
    }
  });
});
