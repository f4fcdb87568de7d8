import { afterEach, describe, expect, it } from 'vitest';
import { MemoryBackend } from '../../../src/backend/memory/memory-backend.js';
import type { MisfirePolicy } from '../../../src/job/job-definition.js';
import { outageBackend } from '../../helpers/outage-backend.js';
import { createWorld, iso, type World } from '../../helpers/scheduler-harness.js';

let world: World;
afterEach(async () => world?.stopAll());

/*
 * A store that goes down and comes back empty, as a Redis restarted without
 * persistence does: the jobs look new when they are synced again. The slots
 * that came due during the outage were missed all the same, and the misfire
 * policy must see them (it used to see none: the re-created job had no
 * claimed slot and a createdAt of "now").
 */

async function outageWithDataLoss(misfire: MisfirePolicy): Promise<string[]> {
  world = createWorld('2026-01-01T00:00:30.000Z');
  const store = outageBackend(world.backend);
  const { scheduler } = world.instance({ pollIntervalMs: 1_000 }, { backend: store.backend });
  const slots: string[] = [];
  await scheduler.register({ name: 'minutely', schedule: '* * * * *', misfire, handler: (ctx) => void slots.push(iso(ctx.scheduledAt.getTime())) });
  await scheduler.start();
  await world.clock.advance(2 * 60_000); // :01 and :02 run
  store.down();
  await world.clock.advance(3 * 60_000); // :03, :04 and :05 come due while the store is down
  await store.up(new MemoryBackend({ clock: world.clock }));
  await world.clock.advance(60_000); // recovery within a second, then :06
  return slots;
}

describe('an outage after which the store comes back empty', () => {
  it('run-all: every slot missed during the outage runs, in order, then the schedule', async () => {
    expect(await outageWithDataLoss('run-all')).toEqual([
      '2026-01-01T00:01:00.000Z',
      '2026-01-01T00:02:00.000Z',
      '2026-01-01T00:03:00.000Z',
      '2026-01-01T00:04:00.000Z',
      '2026-01-01T00:05:00.000Z',
      '2026-01-01T00:06:00.000Z',
    ]);
  });

  it('run-once: one catch-up for the newest missed slot', async () => {
    expect((await outageWithDataLoss('run-once')).slice(2)).toEqual(['2026-01-01T00:05:00.000Z', '2026-01-01T00:06:00.000Z']);
  });

  it('skip: none', async () => {
    expect((await outageWithDataLoss('skip')).slice(2)).toEqual(['2026-01-01T00:06:00.000Z']);
  });
});
