import { afterEach, describe, expect, it } from 'vitest';
import type { Backend } from '../../../src/backend/backend.js';
import { BackendUnavailableError } from '../../../src/errors/schedkit-error.js';
import { createWorld, type World } from '../../helpers/scheduler-harness.js';

let world: World;
afterEach(async () => world?.stopAll());

/**
 * Regression (found by test/cluster/fault-redis-restart.test.ts): after an
 * outage, every instance plans the same `run-all` catch-ups. A slot is
 * claimed by advancing the job's newest claimed slot, so a newer slot
 * claimed first makes the older ones `taken`. Each instance used to let the
 * preferred instance of each slot go first, so the instances together
 * claimed the group out of order and lost missed slots.
 */
describe('run-all catch-ups on several instances', () => {
  it('runs every slot missed during an outage exactly once, on whichever instances recover', async () => {
    world = createWorld();
    const state = { down: false };
    const slots: number[] = [];
    const instances = [1, 2, 3].map(() => world.instance({ pollIntervalMs: 500, takeoverDelayMs: 100 }, { backend: withOutage(world.backend, state) }));
    for (const { scheduler } of instances) {
      await scheduler.register({ name: 'tick', schedule: '* * * * * *', misfire: 'run-all', handler: (ctx) => void slots.push(ctx.scheduledAt.getTime()) });
      await scheduler.start();
    }
    await world.clock.advance(6_000); // the instances know each other
    state.down = true;
    await world.clock.advance(10_000);
    state.down = false;
    await world.clock.advance(5_000);

    expect(new Set(slots).size).toBe(slots.length);
    const sorted = [...slots].sort((a, b) => a - b);
    expect(sorted.length).toBeGreaterThanOrEqual(19);
    // No gap: each second from the first slot to the last ran.
    for (let i = 1; i < sorted.length; i++) expect(sorted[i]! - sorted[i - 1]!).toBe(1_000);
  });
});

/** A view of `inner` whose calls reject with E_BACKEND_UNAVAILABLE while `state.down`. */
function withOutage(inner: Backend, state: { down: boolean }): Backend {
  return new Proxy(inner, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop);
      if (typeof value !== 'function') return value;
      if (prop === 'onRunsChanged') return value.bind(target);
      return (...args: unknown[]) =>
        state.down ? Promise.reject(new BackendUnavailableError('connection refused')) : (value as (...a: unknown[]) => unknown).apply(target, args);
    },
  });
}
