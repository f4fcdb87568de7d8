import { afterEach, describe, expect, it } from 'vitest';
import { outageBackend } from '../../helpers/outage-backend.js';
import { createWorld, iso, type World } from '../../helpers/scheduler-harness.js';

let world: World;
afterEach(async () => world?.stopAll());

/*
 * The store freezes (a Redis under SIGSTOP): a claim sent meanwhile times out
 * here, yet runs in the store when it thaws, so the run is claimed by an
 * instance that never heard of it. It must be given back and run, at the same
 * attempt, soon after the thaw: not left to be reaped as `stalled` a lease
 * later, which records a failure that did not happen and spends an attempt.
 */
function frozenWorld(start: string) {
  world = createWorld(start);
  const store = outageBackend(world.backend);
  const config = { lockTtlMs: 30_000, lockRefreshMs: 10_000, pollIntervalMs: 1_000 };
  const instances = [world.instance({ ...config, instanceId: 'a' }, { backend: store.backend }), world.instance({ ...config, instanceId: 'b' }, { backend: store.backend })];
  return { store, instances };
}

describe('a claim whose call timed out here but ran in the store', () => {
  it('a one-off run with no retries runs once, at attempt 1, right after the thaw', async () => {
    const { store, instances } = frozenWorld('2026-01-01T00:00:00.000Z');
    const runs: Array<{ attempt: number; at: string }> = [];
    for (const { scheduler } of instances) {
      await scheduler.register({ name: 'send', handler: (ctx) => void runs.push({ attempt: ctx.attempt, at: iso(world.clock.now()) }) });
      await scheduler.start();
    }
    // Due at :09, between two instance heartbeats (every 2 s): the claim is the first call into the freeze.
    await instances[0]!.scheduler.trigger('send', { id: 'mail-1', at: new Date('2026-01-01T00:00:09.000Z') });
    await world.clock.advance(8_900);
    store.freeze();
    await world.clock.advance(6_100);
    expect(runs).toEqual([]);
    await store.up(); // :15; the claim runs now, its answer lost
    await world.clock.advance(60_000);

    expect(runs).toHaveLength(1);
    expect(runs[0]!.attempt).toBe(1);
    expect(runs[0]!.at < '2026-01-01T00:00:18.000Z', runs[0]!.at).toBe(true);
    const history = await instances[1]!.scheduler.history('send');
    expect(history.map((h) => [h.id, h.attempt, h.outcome])).toEqual([['mail-1', 1, 'success']]);
    const logs = instances.flatMap((i) => i.logger.entries);
    expect(logs.filter((l) => l.message.startsWith('gave back runs claimed'))).toMatchObject([{ fields: { runs: 1 } }]);
  });

  it('a slot claimed into the freeze runs once, at attempt 1, right after the thaw', async () => {
    const { store, instances } = frozenWorld('2026-01-01T00:00:50.500Z');
    const runs: Array<{ slot: string; attempt: number; at: string }> = [];
    for (const { scheduler } of instances) {
      await scheduler.register({
        name: 'minutely',
        schedule: '* * * * *',
        misfire: 'run-once',
        handler: (ctx) => void runs.push({ slot: iso(ctx.scheduledAt.getTime()), attempt: ctx.attempt, at: iso(world.clock.now()) }),
      });
      await scheduler.start();
    }
    // Instance heartbeats at :52.5, :54.5 ...: the slot's claim is the first call into the freeze.
    await world.clock.advance(9_400);
    store.freeze(); // from :59.9 to :01:05, across the :01:00 slot
    await world.clock.advance(5_100);
    expect(runs).toEqual([]);
    await store.up();
    await world.clock.advance(50_000); // to :01:55, before the next slot

    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ slot: '2026-01-01T00:01:00.000Z', attempt: 1 });
    expect(runs[0]!.at < '2026-01-01T00:01:08.000Z', runs[0]!.at).toBe(true);
    const history = await instances[0]!.scheduler.history('minutely');
    expect(history.map((h) => [h.attempt, h.outcome])).toEqual([[1, 'success']]);
  });
});
