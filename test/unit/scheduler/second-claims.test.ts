import { afterEach, describe, expect, it } from 'vitest';
import type { Backend, SlotClaimResult } from '../../../src/backend/backend.js';
import { interceptedBackend } from '../../helpers/intercepted-backend.js';
import { createWorld, type Instance, type World } from '../../helpers/scheduler-harness.js';

let world: World;
afterEach(async () => world?.stopAll());

interface SentClaim {
  at: number;
  slot: number;
  status: SlotClaimResult['status'];
}

/**
 * The instance's view of the store: records every slot claim it sends of
 * job `tick` (when, and what the store answered); with `hang`, its slot
 * claims never reach the store (an instance alive by heartbeat whose claims
 * are stuck).
 */
function observed(world: World, options: { hang?: boolean } = {}): { backend: Backend; claims: SentClaim[]; givenBack: string[] } {
  const claims: SentClaim[] = [];
  const givenBack: string[] = [];
  const backend = interceptedBackend(world.backend, {
    releaseClaims: (original, instanceId, runIds) => {
      givenBack.push(...runIds);
      return original(instanceId, runIds);
    },
    claimSlots: async (original, batch) => {
      if (options.hang === true) return new Promise<never>(() => undefined);
      const at = world.clock.now();
      const results = await original(batch);
      batch.forEach((claim, i) => {
        if (String(claim.key).endsWith('tick')) claims.push({ at, slot: claim.slot, status: results[i]!.status });
      });
      return results;
    },
  });
  return { backend, claims, givenBack };
}

const TICK = '* * * * * *';

/**
 * Two instances share a job every second; `b` has one permit, taken by a
 * one-off run of `busyMs` (a job only `b` has) from `busyFrom`. Returns the
 * tick runs (slot and instance) and `b`'s claims.
 */
async function fleet(busyMs: number, aHangs: boolean) {
  world = createWorld();
  const config = { takeoverDelayMs: 100, lockTtlMs: 30_000, pollIntervalMs: 500 };
  const a: Instance = world.instance({ ...config, instanceId: 'a' }, { backend: observed(world, { hang: aHangs }).backend });
  const bView = observed(world);
  const b: Instance = world.instance({ ...config, instanceId: 'b', maxConcurrent: 1 }, { backend: bView.backend });
  const runs: Array<{ slot: number; on: string; at: number }> = [];
  for (const [id, { scheduler }] of [['a', a], ['b', b]] as const) {
    await scheduler.register({ name: 'tick', schedule: TICK, handler: (ctx) => void runs.push({ slot: ctx.scheduledAt.getTime(), on: id, at: world.clock.now() }) });
  }
  let busyEnded = Infinity;
  await b.scheduler.register({
    name: 'long',
    handler: () =>
      new Promise<void>((resolve) =>
        world.clock.setTimeout(() => {
          busyEnded = world.clock.now();
          resolve();
        }, busyMs),
      ),
  });
  await a.scheduler.start();
  await b.scheduler.start();
  // They learn of each other by heartbeat before b gets busy.
  await world.clock.advance(6_000);
  const busyFrom = world.clock.now();
  await b.scheduler.trigger('long', { id: 'long-1' });
  await world.clock.advance(busyMs + 15_000);
  return { a, b, runs, bClaims: bView.claims, bGaveBack: bView.givenBack, busyFrom, busyEnded: () => busyEnded };
}

/*
 * SPEC §16: a slot is claimed by its first instance, and by its second only
 * after takeoverDelayMs. A second's claim must not wait for a permit: its
 * first has usually claimed the slot already, and a busy fleet would
 * otherwise spend a permit on each `taken` answer.
 */
describe('claims as the second of a slot, on a busy instance', () => {
  it('go out at the takeover delay, without waiting for a permit, and are answered taken when the first ran the slot', async () => {
    const { runs, bClaims, busyFrom, busyEnded } = await fleet(20_000, false);
    expect(busyEnded()).toBeLessThan(Infinity);
    // While b's only permit was taken, it still sent claims, each at the takeover delay after its slot.
    const whileBusy = bClaims.filter((c) => c.at > busyFrom + 1_000 && c.at < busyEnded());
    expect(whileBusy.length).toBeGreaterThanOrEqual(3);
    for (const c of whileBusy) {
      expect(c.at - c.slot).toBeLessThanOrEqual(200);
      expect(c.status).toBe('taken');
    }
    // Every slot of the busy time ran once, on a, on time: b never held one up.
    const busySlots = runs.filter((r) => r.slot > busyFrom + 1_000 && r.slot < busyEnded());
    expect(busySlots.length).toBeGreaterThanOrEqual(15);
    expect(new Set(busySlots.map((r) => r.slot)).size).toBe(busySlots.length);
    for (const r of busySlots) {
      expect(r.on).toBe('a');
      expect(r.at - r.slot).toBeLessThanOrEqual(200);
    }
  });

  it('a slot the busy second wins (its first never claimed it) runs there once a permit frees, within a lease refresh period', async () => {
    const { runs, bClaims, bGaveBack, busyFrom, busyEnded } = await fleet(8_000, true);
    expect(bGaveBack).toEqual([]);
    const won = bClaims.filter((c) => c.status === 'claimed' && c.at > busyFrom + 500 && c.at < busyEnded());
    expect(won.length).toBeGreaterThanOrEqual(1);
    for (const c of won) {
      const run = runs.filter((r) => r.slot === c.slot);
      expect(run).toHaveLength(1);
      expect(run[0]!.on).toBe('b');
      expect(run[0]!.at).toBeGreaterThanOrEqual(busyEnded());
    }
    // No slot ran twice.
    expect(new Set(runs.map((r) => r.slot)).size).toBe(runs.length);
  });

  it('a slot won while busy for longer than a lease refresh period is given back unstarted and runs once, not stalled', async () => {
    const { b, runs, bClaims, bGaveBack, busyFrom, busyEnded } = await fleet(20_000, true);
    const won = bClaims.filter((c) => c.status === 'claimed' && c.at > busyFrom + 500 && c.at < busyEnded() - 11_000);
    expect(won.length).toBeGreaterThanOrEqual(1);
    // Given back when b's permit freed, too late to start on its lease; then claimed again as a due run and run once.
    expect(bGaveBack.length).toBeGreaterThanOrEqual(won.length);
    for (const c of won) {
      const run = runs.filter((r) => r.slot === c.slot);
      expect(run).toHaveLength(1);
      expect(run[0]!.at).toBeGreaterThanOrEqual(busyEnded());
    }
    expect(new Set(runs.map((r) => r.slot)).size).toBe(runs.length);
    const history = await b.scheduler.history('tick', { limit: 100 });
    for (const c of won) {
      const entries = history.filter((h) => h.scheduledAt.getTime() === c.slot);
      expect(entries.map((h) => [h.outcome, h.attempt])).toEqual([['success', 1]]);
    }
    expect(history.filter((h) => h.outcome === 'stalled')).toEqual([]);
  });
});
