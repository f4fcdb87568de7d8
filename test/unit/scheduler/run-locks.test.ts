import { afterEach, describe, expect, it } from 'vitest';
import type { DistributedLock } from '../../../src/lock/distributed-lock.js';
import { createWorld, deferred, type World } from '../../helpers/scheduler-harness.js';

let world: World;
afterEach(async () => world?.stopAll());

describe('run locks', () => {
  it('a run takes no lock of its own (its claim is its lease); a run of a lock group takes group:<lockKey>', async () => {
    world = createWorld();
    const taken: string[] = [];
    const shared = world.lock;
    const lock: DistributedLock = {
      acquire: (resource, options) => {
        taken.push(resource);
        return shared.acquire(resource, options);
      },
      using: (resource, options, fn) => shared.using(resource, options, fn),
    };
    const { scheduler } = world.instance({}, { lock });
    const running: string[] = [];
    const release = deferred();
    for (const name of ['a:b', 'a']) {
      await scheduler.register({
        name,
        handler: async () => {
          running.push(name);
          await release.promise;
        },
      });
    }
    await scheduler.register({ name: 'grouped', lockKey: 'reports', handler: () => void running.push('grouped') });
    await scheduler.start();
    await scheduler.trigger('a:b', { id: 'c' });
    await scheduler.trigger('a', { id: 'b:c' });
    await scheduler.trigger('grouped');
    await world.clock.advance(1_000);

    try {
      expect(taken.filter((resource) => !resource.startsWith('probe:'))).toEqual(['group:reports']);
      expect(running.sort()).toEqual(['a', 'a:b', 'grouped']);
    } finally {
      release.resolve();
    }
  });
});
