/**
 * schedkit on Redis, one instance, built by hand: RedisBackend + RedlockLock
 * on the suite's redis-server (one master), no-op logger and metrics, and
 * enough concurrency that no run waits for a permit.
 */
import { redisScheduler } from '../../lib/schedkit.js';
import { runContender } from './harness.js';
import { schedkitContender } from './schedkit-contender.js';

await runContender(
  schedkitContender((config) => redisScheduler(config.redisUrl!, config.prefix!, { maxConcurrent: 20_000, instanceId: `fire-${process.pid}` })),
);
