/**
 * schedkit on the in-memory backend, built by hand (README "The same, by
 * hand"): MemoryBackend + MemoryLock, no-op logger and metrics, and enough
 * concurrency that no run waits for a permit.
 */
import { memoryScheduler } from '../../lib/schedkit.js';
import { runContender } from './harness.js';
import { schedkitContender } from './schedkit-contender.js';

await runContender(
  schedkitContender(async () => {
    const scheduler = memoryScheduler({ maxConcurrent: 20_000 });
    return { scheduler, close: () => scheduler.stop() };
  }),
);
