import { afterEach, describe, expect, it } from 'vitest';
import { SchedkitError } from '../../../src/errors/schedkit-error.js';
import { createWorld, iso, recorder, type World } from '../../helpers/scheduler-harness.js';

let world: World;
afterEach(async () => world?.stopAll());

async function errorOf(call: () => Promise<unknown>): Promise<SchedkitError> {
  try {
    await call();
  } catch (error) {
    if (SchedkitError.is(error)) return error;
    throw error;
  }
  throw new Error('the call was accepted');
}

/** A world at 10:00 whose hourly job is registered on one started instance. */
async function hourly(options: { exclude?: Array<{ cron: string } | { from: string; to: string }> } = {}) {
  world = createWorld('2026-01-02T10:00:00.000Z');
  const { scheduler } = world.instance();
  const { calls, handler } = recorder(world.clock);
  await scheduler.register({ name: 'report', tenantId: 'acme', schedule: '0 * * * *', handler, ...options });
  await scheduler.start();
  return { scheduler, calls };
}

describe('backfill', () => {
  it('enqueues one run per slot of the range, each with its slot as scheduledAt, and runs them', async () => {
    const { scheduler, calls } = await hourly();
    const result = await scheduler.backfill('report', { tenantId: 'acme', from: '2026-01-01T00:00:00Z', to: '2026-01-01T05:00:00Z' });
    expect(result).toEqual({ slots: 6, enqueued: 6, existing: 0 });
    await world.clock.advance(5_000);
    expect(calls.map((c) => iso(c.ctx.scheduledAt.getTime())).sort()).toEqual([0, 1, 2, 3, 4, 5].map((h) => `2026-01-01T0${h}:00:00.000Z`));
    expect(calls.map((c) => c.ctx.id).sort()).toEqual([0, 1, 2, 3, 4, 5].map((h) => `backfill-${Date.parse(`2026-01-01T0${h}:00:00Z`)}`).sort());
  });

  it('is idempotent: a second call (on another instance) enqueues nothing', async () => {
    const { scheduler, calls } = await hourly();
    const range = { tenantId: 'acme', from: new Date('2026-01-01T00:00:00Z'), to: new Date('2026-01-01T02:30:00Z') };
    expect(await scheduler.backfill('report', range)).toEqual({ slots: 3, enqueued: 3, existing: 0 });
    expect(await scheduler.backfill('report', range)).toEqual({ slots: 3, enqueued: 0, existing: 3 });
    await world.clock.advance(5_000);
    const other = world.instance().scheduler;
    await other.register({ name: 'report', tenantId: 'acme', schedule: '0 * * * *', handler: () => {} });
    await other.start();
    // Finished runs count as existing too.
    expect(await other.backfill('report', range)).toEqual({ slots: 3, enqueued: 0, existing: 3 });
    await world.clock.advance(5_000);
    expect(calls).toHaveLength(3);
  });

  it('leaves out slots that ran on schedule, and excluded slots', async () => {
    const { scheduler, calls } = await hourly({ exclude: [{ cron: '0 13 * * *' }] });
    await world.clock.advance(3 * 3_600_000); // slots 11:00, 12:00, 13:00 (excluded)
    expect(calls).toHaveLength(2);
    const result = await scheduler.backfill('report', { tenantId: 'acme', from: '2026-01-02T09:00:00Z', to: '2026-01-02T13:00:00Z' });
    // 09:00, 10:00 are missing; 11:00 and 12:00 ran; 13:00 is excluded.
    expect(result).toEqual({ slots: 4, enqueued: 2, existing: 2 });
  });

  it.each([
    ['a trigger-only job', 'publish', {}, 'E_INVALID_ARGUMENT', /backfill: invalid name: job "acme\/publish" has no schedule/],
    ['a job not registered here', 'nope', {}, 'E_JOB_NOT_FOUND', /job "acme\/nope"/],
    ['from after to (reversed)', 'report', { from: '2026-01-02T00:00:00Z', to: '2026-01-01T00:00:00Z' }, 'E_INVALID_ARGUMENT', /invalid from: .* is after to/],
    ['to in the future', 'report', { from: '2026-01-01T00:00:00Z', to: '2026-01-03T00:00:00Z' }, 'E_INVALID_ARGUMENT', /invalid to: .* is in the future/],
    ['over 10,000 slots', 'report', { from: '2024-01-01T00:00:00Z', to: '2026-01-01T00:00:00Z' }, 'E_INVALID_ARGUMENT', /invalid to: .*more than 10000 slots \(the cap/],
    ['from not a date', 'report', { from: 'yesterday', to: '2026-01-01T00:00:00Z' }, 'E_INVALID_ARGUMENT', /invalid from/],
    ['to missing', 'report', { from: '2026-01-01T00:00:00Z' }, 'E_INVALID_ARGUMENT', /invalid to: required/],
    ['an unknown option', 'report', { from: '2026-01-01T00:00:00Z', to: '2026-01-01T01:00:00Z', until: 1 }, 'E_INVALID_ARGUMENT', /invalid until: unknown option/],
  ])('refuses %s and changes nothing', async (_label, name, options, code, message) => {
    const { scheduler } = await hourly();
    await scheduler.register({ name: 'publish', tenantId: 'acme', handler: () => {} });
    const before = await scheduler.listRuns({ tenantId: 'acme' });
    const error = await errorOf(() => scheduler.backfill(name, { tenantId: 'acme', ...(options as { from: string; to: string }) }));
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
    expect(await scheduler.listRuns({ tenantId: 'acme' })).toEqual(before);
  });

  it('two jobs of one tenant backfill the same slot: the second takes an id of its own, still idempotent', async () => {
    const { scheduler } = await hourly();
    await scheduler.register({ name: 'digest', tenantId: 'acme', schedule: '0 * * * *', handler: () => {} });
    const range = { tenantId: 'acme', from: '2026-01-01T00:00:00Z', to: '2026-01-01T01:00:00Z' };
    expect(await scheduler.backfill('report', range)).toEqual({ slots: 2, enqueued: 2, existing: 0 });
    expect(await scheduler.backfill('digest', range)).toEqual({ slots: 2, enqueued: 2, existing: 0 });
    expect(await scheduler.backfill('digest', range)).toEqual({ slots: 2, enqueued: 0, existing: 2 });
  });
});
