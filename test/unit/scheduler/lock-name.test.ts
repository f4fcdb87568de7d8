import { afterEach, describe, expect, it } from 'vitest';
import type { DistributedLock } from '../../../src/lock/distributed-lock.js';
import { runLockName } from '../../../src/scheduler/lock-name.js';
import { createWorld, deferred, type World } from '../../helpers/scheduler-harness.js';

let world: World;
afterEach(async () => world?.stopAll());

/** The world's lock, noting every resource acquired (the health probe's `probe:` ones left out). */
function recordingLock(taken: string[]): DistributedLock {
  const shared = world.lock;
  return {
    acquire: (resource, options) => {
      if (!resource.startsWith('probe:')) taken.push(resource);
      return shared.acquire(resource, options);
    },
    using: (resource, options, fn) => shared.using(resource, options, fn),
  };
}

describe('run locks', () => {
  it('differ for every (job, run) pair, even when job keys and run ids contain ":"', () => {
    const pairs: Array<[string, string]> = [
      ['/a:b', 'c'],
      ['/a', 'b:c'],
      ['t:/a', 'b'],
      ['t/a:b', 'c'],
      ['t/a', 'b:c'],
      ['/1:a', 'b'],
      ['/1', 'a:b'],
    ];
    const names = pairs.map(([key, id]) => runLockName(key, id, false));
    expect(new Set(names).size).toBe(pairs.length);
    // An exclusive run locks its job, never a name a run lock can take.
    expect(runLockName('/a:b', 'c', true)).toBe('job:/a:b');
    expect(names).not.toContain(runLockName('/a:b', 'c', true));
  });

  it('with lockRuns, job "a:b" run "c" and job "a" run "b:c" take different locks and run at the same time', async () => {
    world = createWorld();
    const taken: string[] = [];
    const { scheduler } = world.instance({ lockRuns: true }, { lock: recordingLock(taken) });
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
    await scheduler.start();
    await scheduler.trigger('a:b', { id: 'c' });
    await scheduler.trigger('a', { id: 'b:c' });
    // Well below lockTtlMs (30 s), the time a run waits for a held lock before it is put back.
    await world.clock.advance(1_000);

    try {
      expect(taken).toHaveLength(2);
      expect(taken[0]).not.toBe(taken[1]);
      expect(running.sort()).toEqual(['a', 'a:b']);
    } finally {
      release.resolve();
    }
  });

  it('a run takes no lock of its own (its claim is its lease); a run of a lock group takes group:<lockKey>', async () => {
    world = createWorld();
    const taken: string[] = [];
    const { scheduler } = world.instance({}, { lock: recordingLock(taken) });
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
      expect(taken).toEqual(['group:reports']);
      expect(running.sort()).toEqual(['a', 'a:b', 'grouped']);
    } finally {
      release.resolve();
    }
  });
});
