import { afterEach, describe, expect, it } from 'vitest';
import { SchedkitError } from '../../../src/errors/schedkit-error.js';
import { driftMs } from '../../../src/scheduler/run-leases.js';
import { createWorld, type World } from '../../helpers/scheduler-harness.js';

let world: World;
afterEach(async () => world?.stopAll());

/** A job that runs until its signal aborts, and says when and why. */
async function longRun(options: { heartbeat: 'hangs' | 'answers' }) {
  world = createWorld();
  const backend = world.backend;
  const heartbeat = backend.heartbeat.bind(backend);
  let heartbeats = 0;
  backend.heartbeat = (runs, leaseMs) => {
    heartbeats++;
    // A frozen store: the call neither answers nor fails.
    return options.heartbeat === 'hangs' ? new Promise(() => undefined) : heartbeat(runs, leaseMs);
  };
  const { scheduler } = world.instance({ lockTtlMs: 3_000, lockRefreshMs: 1_000 });
  const aborted: Array<{ at: number; reason: unknown }> = [];
  let startedAt = 0;
  await scheduler.register({
    name: 'long',
    schedule: { at: '2026-01-01T00:00:01.000Z' },
    lockTtlMs: 3_000,
    retry: false,
    timeoutMs: 60_000,
    handler: (ctx) => {
      startedAt = world.clock.now();
      return new Promise<void>((resolve) =>
        ctx.signal.addEventListener('abort', () => {
          aborted.push({ at: world.clock.now(), reason: ctx.signal.reason });
          resolve();
        }),
      );
    },
  });
  await scheduler.start();
  await world.clock.advance(20_000);
  return { aborted, startedAt, heartbeats: () => heartbeats };
}

describe('run leases', () => {
  it('a refresh the store never answers loses the run when its lease ends by the local clock, not later', async () => {
    const { aborted, startedAt, heartbeats } = await longRun({ heartbeat: 'hangs' });
    expect(heartbeats()).toBe(1); // one refresh sent, never answered: no second one piles up
    expect(aborted).toHaveLength(1);
    expect(SchedkitError.is(aborted[0]!.reason, 'E_LOCK_LOST')).toBe(true);
    // Claimed at the slot (started at once): lost at claim + TTL - drift, before the store could hand it to anyone.
    expect(aborted[0]!.at - startedAt).toBe(3_000 - driftMs(3_000));
  });

  it('refreshes every run of the instance in one call per period while they run, and never loses them', async () => {
    const { aborted, heartbeats } = await longRun({ heartbeat: 'answers' });
    expect(aborted).toEqual([]);
    // 19 s of running at one refresh per second (the first one a period after the claim).
    expect(heartbeats()).toBeGreaterThanOrEqual(18);
    expect(heartbeats()).toBeLessThanOrEqual(19);
  });
});
