import { afterEach, describe, expect, it } from 'vitest';
import { OffsetClock } from '../../../src/clock/clock.js';
import { createWorld, iso, type World } from '../../helpers/scheduler-harness.js';
import { SteppedClock } from '../../helpers/stepped-clock.js';

const HOUR = 3_600_000;

let world: World;
afterEach(async () => world?.stopAll());

/**
 * Every timestamp that is stored or compared across instances comes from the
 * store's clock (here the memory backend's, `world.clock`), never from the
 * caller's: see the table "whose clock" in docs/internals.md.
 */
describe('timestamps on the store clock, not the caller clock', () => {
  it('a later definition wins over an older one registered by an instance an hour ahead', async () => {
    world = createWorld();
    const ahead = world.instance({}, { clock: new OffsetClock(world.clock, HOUR) });
    await ahead.scheduler.register({ name: 'report', schedule: '*/10 * * * * *', handler: () => undefined });
    await ahead.scheduler.start();
    await world.clock.advance(5_000);

    const deployed = world.instance();
    await deployed.scheduler.register({ name: 'report', schedule: '* * * * * *', handler: () => undefined });
    await deployed.scheduler.start();

    expect((await world.backend.getJob('/report'))!.schedule).toMatchObject({ kind: 'cron', cron: '* * * * * *' });
    // The instance ahead adopts the new definition at its next claim.
    await world.clock.advance(15_000);
    expect((await ahead.scheduler.getJob('report'))!.schedule).toMatchObject({ cron: '* * * * * *' });
    expect(ahead.logger.find('adopting its schedule')).toHaveLength(1);
    expect(deployed.logger.find('adopting its schedule')).toHaveLength(0);
  });

  it('a definition keeps its store stamp when it is synced again', async () => {
    world = createWorld();
    const { scheduler } = world.instance({}, { clock: new OffsetClock(world.clock, -HOUR) });
    await scheduler.register({ name: 'kept', schedule: '* * * * * *', handler: () => undefined });
    await scheduler.start();
    const first = (await world.backend.getJob('/kept'))!.definedAt;
    expect(first).toBe(world.clock.now());
    await world.clock.advance(10_000);
    await scheduler.stop();
    await scheduler.start();
    expect((await world.backend.getJob('/kept'))!.definedAt).toBe(first);
  });

  it('a retry is due at store time + its delay, whatever the local clock says', async () => {
    world = createWorld();
    const local = new SteppedClock(world.clock);
    const { scheduler } = world.instance({}, { clock: local });
    await scheduler.register({
      name: 'flaky',
      retry: { maxRetries: 1, strategy: 'fixed', initialDelayMs: 2_000, jitter: 'none' },
      handler: () => {
        throw new Error('boom');
      },
    });
    await scheduler.start();
    local.stepMs = HOUR;
    const at = world.clock.now() + 1_000;
    await scheduler.trigger('flaky', { at: new Date(at) });
    await world.clock.advance(1_500);
    const history = await scheduler.history('flaky');
    expect(history.map((h) => h.outcome)).toEqual(['failed']);
    expect(iso((await world.backend.nextDueAt())!)).toBe(iso(history[0]!.finishedAt!.getTime() + 2_000));
    await world.clock.advance(2_500);
    expect((await scheduler.history('flaky')).map((h) => h.outcome)).toEqual(['failed', 'failed']);
  });

  it('a one-off run triggered for now is due at store time', async () => {
    world = createWorld();
    const local = new SteppedClock(world.clock);
    const { scheduler } = world.instance({}, { clock: local });
    await scheduler.register({ name: 'adhoc', handler: () => undefined });
    await scheduler.start();
    local.stepMs = HOUR;
    const run = await scheduler.trigger('adhoc');
    expect(iso(run.dueAt.getTime())).toBe(iso(world.clock.now()));
    await world.clock.advance(1_000);
    expect((await scheduler.history('adhoc')).map((h) => h.outcome)).toEqual(['success']);
  });

  it('history startedAt/finishedAt and lastRunAt are store time', async () => {
    world = createWorld();
    const local = new SteppedClock(world.clock);
    const { scheduler } = world.instance({}, { clock: local });
    let ranAt = 0;
    await scheduler.register({
      name: 'timed',
      handler: async () => {
        ranAt = world.clock.now();
        await new Promise<void>((resolve) => world.clock.setTimeout(resolve, 300));
      },
    });
    await scheduler.start();
    local.stepMs = -HOUR;
    await scheduler.trigger('timed', { at: new Date(world.clock.now()) });
    await world.clock.advance(1_000);
    const [entry] = await scheduler.history('timed');
    expect(entry).toMatchObject({ outcome: 'success' });
    expect(iso(entry!.startedAt!.getTime())).toBe(iso(ranAt));
    expect(iso(entry!.finishedAt!.getTime())).toBe(iso(ranAt + 300));
    const job = await scheduler.getJob('timed');
    expect(iso(job!.lastRunAt!.getTime())).toBe(iso(ranAt));
    expect(job!.lastDurationMs).toBe(300);
  });
});
