import { afterEach, describe, expect, it } from 'vitest';
import { groupLockName } from '../../../src/scheduler/lock-name.js';
import { createWorld, type World } from '../../helpers/scheduler-harness.js';

let world: World;
afterEach(async () => world?.stopAll());

describe('runs waiting for their lock group', () => {
  it('many runs waiting at once on the shared shutdown signal raise no "possible leak" warning', async () => {
    world = createWorld();
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const { scheduler } = world.instance({ maxConcurrent: 20 });
      // 15 jobs, each in its own lock group, whose lock someone else holds: each run waits on it.
      const ids = Array.from({ length: 15 }, (_, i) => `p${i}`);
      for (const id of ids) await scheduler.register({ name: id, lockKey: id, handler: () => undefined });
      await scheduler.start();
      const held = await Promise.all(ids.map((id) => world.lock.acquire(groupLockName(id), { ttlMs: 60_000 })));
      for (const id of ids) await scheduler.trigger(id);
      await world.clock.advance(1_000);
      for (const lease of held) await lease!.release();
      await world.clock.advance(1_000);
      // Warnings are emitted on the next tick.
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
      for (const id of ids) expect((await scheduler.history(id)).map((h) => h.outcome)).toEqual(['success']);
    } finally {
      process.off('warning', onWarning);
    }
  });
});
