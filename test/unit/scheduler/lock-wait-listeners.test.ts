import { afterEach, describe, expect, it } from 'vitest';
import { runLockName } from '../../../src/scheduler/lock-name.js';
import { createWorld, type World } from '../../helpers/scheduler-harness.js';

let world: World;
afterEach(async () => world?.stopAll());

describe('runs waiting for their locks', () => {
  it('many runs waiting at once on the shared shutdown signal raise no "possible leak" warning', async () => {
    world = createWorld();
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const { scheduler } = world.instance({ maxConcurrent: 20 });
      await scheduler.register({ name: 'post', handler: () => undefined });
      await scheduler.start();
      // Someone else holds the lock of each run: each of the 15 runs waits on it.
      const ids = Array.from({ length: 15 }, (_, i) => `p${i}`);
      const held = await Promise.all(ids.map((id) => world.lock.acquire(runLockName('/post', id, false), { ttlMs: 60_000 })));
      for (const id of ids) await scheduler.trigger('post', { id });
      await world.clock.advance(1_000);
      for (const lease of held) await lease!.release();
      await world.clock.advance(1_000);
      // Warnings are emitted on the next tick.
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
      const history = await scheduler.history('post', { limit: 20 });
      expect(history.filter((h) => h.outcome === 'success')).toHaveLength(15);
    } finally {
      process.off('warning', onWarning);
    }
  });
});
