import { afterEach, describe, expect, it } from 'vitest';
import { SchedkitError } from '../../../src/errors/schedkit-error.js';
import { jobKey } from '../../../src/job/job-key.js';
import { createWorld, recorder, type World } from '../../helpers/scheduler-harness.js';

let world: World;
afterEach(async () => world?.stopAll());

describe('trigger after stop()', () => {
  it('is refused with E_NOT_STARTED and stores no run', async () => {
    world = createWorld();
    const { scheduler } = world.instance();
    const runs = recorder(world.clock);
    await scheduler.register({ name: 'welcome', handler: runs.handler });
    await scheduler.start();
    await scheduler.stop();
    const refused = await scheduler.trigger('welcome', { params: { user: 'ada' } }).catch((e: unknown) => e);
    expect(SchedkitError.is(refused, 'E_NOT_STARTED')).toBe(true);
    expect((refused as Error).message).toBe('trigger: the scheduler was stopped; call start() again first');
    expect(await world.backend.nextDueAt()).toBeNull();
    expect(await world.backend.getJob(jobKey('welcome'))).not.toBeNull(); // the job itself is still stored
  });

  it('is accepted again after a restart, and before the first start', async () => {
    world = createWorld();
    const { scheduler } = world.instance();
    const runs = recorder(world.clock);
    await scheduler.register({ name: 'welcome', handler: runs.handler });
    await scheduler.trigger('welcome', { id: 'before-start' });
    await scheduler.start();
    await scheduler.stop();
    await scheduler.start();
    await scheduler.trigger('welcome', { id: 'after-restart' });
    await world.clock.advance(3_000);
    expect(runs.calls.map((c) => c.ctx.id).sort()).toEqual(['after-restart', 'before-start']);
  });
});
