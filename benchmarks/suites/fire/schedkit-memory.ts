/**
 * schedkit on the in-memory backend, built by hand (README "The same, by
 * hand"): MemoryBackend + MemoryLock, no-op metrics, and enough concurrency
 * that no run waits for a permit (`maxConcurrent` 20,000; default 10).
 * Every other setting is the default.
 */
import { memoryScheduler } from '../../lib/schedkit.js';
import { runContender } from './harness.js';
import { schedkitContender } from './schedkit-contender.js';
import { FIRE_SCHEDKIT_SETTINGS } from './protocol.js';

await runContender(
  schedkitContender(FIRE_SCHEDKIT_SETTINGS, async (_config, logger) => {
    const scheduler = memoryScheduler(FIRE_SCHEDKIT_SETTINGS, logger);
    return { scheduler, close: () => scheduler.stop() };
  }),
);
