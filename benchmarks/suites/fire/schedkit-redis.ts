/**
 * schedkit on Redis, one instance, built by hand: RedisBackend + RedlockLock
 * on the suite's redis-server (one master), no-op metrics, and enough
 * concurrency that no run waits for a permit (`maxConcurrent` 20,000; the
 * default is 10, which would measure the permit queue, not the scheduler).
 * Every other setting is the default.
 */
import { Redis } from 'ioredis';
import { pendingRuns } from '../../lib/redis.js';
import { redisScheduler } from '../../lib/schedkit.js';
import { runContender } from './harness.js';
import { schedkitContender } from './schedkit-contender.js';
import { FIRE_SCHEDKIT_SETTINGS } from './protocol.js';

await runContender(
  schedkitContender(
    FIRE_SCHEDKIT_SETTINGS,
    (config, logger) => redisScheduler(config.redisUrl!, config.prefix!, { ...FIRE_SCHEDKIT_SETTINGS, instanceId: `fire-${process.pid}` }, logger),
    // Runs put back or handed back by the stop wait in Redis for the next instance: pending, not lost.
    async (config) => {
      const client = new Redis(config.redisUrl!, { lazyConnect: true });
      try {
        await client.connect();
        return await pendingRuns(client, config.prefix!);
      } finally {
        client.disconnect();
      }
    },
  ),
);
