import { afterEach, describe, expect, it } from 'vitest';
import type { MisfirePolicy } from '../../../src/job/job-definition.js';
import { createWorld, iso, recorder, type World } from '../../helpers/scheduler-harness.js';

let world: World;
afterEach(async () => world?.stopAll());

/**
 * An instance runs a per-minute job for 2 minutes and stops; nothing runs for
 * 10 minutes; a new instance starts with the same job and policy.
 */
async function outage(misfire: MisfirePolicy, maxCatchUp = 100) {
  world = createWorld('2026-01-01T00:00:30.000Z');
  const first = world.instance();
  const before = recorder(world.clock);
  await first.scheduler.register({ name: 'minutely', schedule: '* * * * *', misfire, handler: before.handler });
  await first.scheduler.start();
  await world.clock.advance(2 * 60_000); // runs :01 and :02
  await first.scheduler.stop();
  world.clock.set('2026-01-01T00:12:30.000Z'); // :03 ... :12 missed
  const second = world.instance({ maxCatchUp });
  const after = recorder(world.clock);
  await second.scheduler.register({ name: 'minutely', schedule: '* * * * *', misfire, handler: after.handler });
  await second.scheduler.start();
  await world.clock.advance(60_000); // catch-ups, then :13
  return { before, after: after.calls.map((c) => iso(c.ctx.scheduledAt.getTime())), second };
}

describe('misfire policies after an outage', () => {
  it('skip: no catch-up, continues with the next future slot', async () => {
    const { before, after } = await outage('skip');
    expect(before.calls).toHaveLength(2);
    expect(after).toEqual(['2026-01-01T00:13:00.000Z']);
  });

  it('run-once: one catch-up run for the newest missed slot, then the schedule', async () => {
    const { after } = await outage('run-once');
    expect(after).toEqual(['2026-01-01T00:12:00.000Z', '2026-01-01T00:13:00.000Z']);
  });

  it('run-all: every missed slot in order, then the schedule', async () => {
    const { after } = await outage('run-all');
    const missed = Array.from({ length: 10 }, (_, i) => `2026-01-01T00:${String(i + 3).padStart(2, '0')}:00.000Z`);
    expect(after).toEqual([...missed, '2026-01-01T00:13:00.000Z']);
  });

  it('run-all: at most maxCatchUp, the newest ones', async () => {
    const { after } = await outage('run-all', 3);
    expect(after).toEqual([
      '2026-01-01T00:10:00.000Z',
      '2026-01-01T00:11:00.000Z',
      '2026-01-01T00:12:00.000Z',
      '2026-01-01T00:13:00.000Z',
    ]);
  });

  it('logs the missed slots once with the policy', async () => {
    const { second } = await outage('skip');
    const lines = second.logger.find('missed slots');
    expect(lines).toHaveLength(1);
    expect(lines[0]!.fields).toMatchObject({ job: 'minutely', missed: 10, dropped: 10, misfire: 'skip' });
  });

  it('treats a wake far past the slot (suspended process) as missed slots, and a slightly late one as on time', async () => {
    world = createWorld('2026-01-01T00:00:00.000Z');
    const { scheduler } = world.instance({ misfireGraceMs: 5_000 });
    const { calls, handler } = recorder(world.clock);
    await scheduler.register({ name: 'every-10s', schedule: '*/10 * * * * *', misfire: 'run-once', handler });
    await scheduler.start();
    await world.clock.advance(10_000); // :10 on time
    world.clock.set('2026-01-01T00:01:03.000Z'); // suspended: :20 ... :60 missed
    await world.clock.runNext();
    await world.clock.advance(10_000);
    expect(calls.map((c) => iso(c.ctx.scheduledAt.getTime()))).toEqual([
      '2026-01-01T00:00:10.000Z',
      '2026-01-01T00:00:50.000Z', // newest of :20-:50, missed by more than the grace: one catch-up
      '2026-01-01T00:01:00.000Z', // late, but within the grace: runs as usual, after the catch-up
      '2026-01-01T00:01:10.000Z',
    ]);
  });

  it('runs a once job whose time passed while nothing was up (run-once), and not again afterwards', async () => {
    world = createWorld('2026-01-01T00:05:00.000Z');
    const { scheduler } = world.instance();
    const { calls, handler } = recorder(world.clock);
    await scheduler.register({ name: 'launch', schedule: { at: '2026-01-01T00:01:00.000Z' }, handler });
    await scheduler.start();
    await world.clock.advance(1_000);
    expect(calls.map((c) => iso(c.ctx.scheduledAt.getTime()))).toEqual(['2026-01-01T00:01:00.000Z']);
    await scheduler.stop();
    const again = world.instance();
    const rerun = recorder(world.clock);
    await again.scheduler.register({ name: 'launch', schedule: { at: '2026-01-01T00:01:00.000Z' }, handler: rerun.handler });
    await again.scheduler.start();
    await world.clock.advance(60_000);
    expect(rerun.calls).toHaveLength(0);
  });
});
