import { afterEach, describe, expect, it } from 'vitest';
import { outageBackend } from '../../helpers/outage-backend.js';
import { createWorld, type World } from '../../helpers/scheduler-harness.js';

let world: World;
afterEach(async () => world?.stopAll());

/*
 * The store goes out of reach for every instance (a frozen or restarting
 * Redis) while a run is in flight, and stays out longer than the run's lease.
 * The handler ends during the outage. Its outcome must be recorded as what
 * happened once the store is back, and retried per the job's policy: not
 * dropped, and not replaced by another instance's reaper calling the run
 * `stalled` because nobody could extend its lease.
 */
async function runAcrossOutage(outcome: 'failed' | 'success') {
  world = createWorld();
  const store = outageBackend(world.backend);
  const config = { lockTtlMs: 30_000, lockRefreshMs: 10_000, pollIntervalMs: 1_000 };
  // `a` (which takes the run: it triggers it) probes the store every 9 s,
  // `b` reaps every second: `b`'s reaper looks at the run before `a` can
  // record its outcome.
  const a = world.instance({ ...config, instanceId: 'a', pollIntervalMs: 9_000 }, { backend: store.backend });
  const b = world.instance({ ...config, instanceId: 'b', lockRefreshMs: 1_000 }, { backend: store.backend });
  const starts: Array<{ attempt: number; at: number }> = [];
  for (const { scheduler } of [a, b]) {
    await scheduler.register({
      name: 'export',
      retry: { maxRetries: 1, strategy: 'fixed', initialDelayMs: 10_000, jitter: 'none' },
      handler: async (ctx) => {
        starts.push({ attempt: ctx.attempt, at: world.clock.now() });
        if (ctx.attempt > 1) return;
        await new Promise<void>((resolve) => world.clock.setTimeout(() => resolve(), 8_000));
        if (outcome === 'failed') throw new Error('export failed');
      },
    });
    await scheduler.start();
  }
  const t0 = world.clock.now();
  await a.scheduler.trigger('export', { id: 'e-1' });
  await world.clock.advance(5_000);
  expect(starts).toHaveLength(1);
  store.down(); // at t0 + 5 s; the handler ends at t0 + 8 s; the 30 s lease runs out at t0 + 30 s
  await world.clock.advance(60_000);
  await store.up();
  await world.clock.advance(60_000);
  const history = await a.scheduler.history('export');
  return { t0, starts, history, logs: [...a.logger.entries, ...b.logger.entries] };
}

describe('a run whose handler ends while the store is out of reach for longer than its lease', () => {
  it('a failure is recorded as failed, not stalled, and retried once after the outage', async () => {
    const { t0, starts, history, logs } = await runAcrossOutage('failed');
    expect(history.map((h) => [h.attempt, h.outcome])).toEqual([
      [2, 'success'],
      [1, 'failed'],
    ]);
    expect(history[1]!.error).toBe('export failed');
    // Dated when the attempt ran, not when its outcome reached the store after the outage.
    expect(history[1]!.startedAt!.getTime()).toBe(starts[0]!.at);
    expect(history[1]!.finishedAt!.getTime()).toBe(starts[0]!.at + 8_000);
    expect(starts.map((s) => s.attempt)).toEqual([1, 2]);
    expect(starts[1]!.at).toBeGreaterThanOrEqual(t0 + 65_000); // not before the store was back
    expect(logs.filter((l) => l.message === 'run outcome kept until the backend is back')).toHaveLength(1);
    expect(logs.some((l) => l.message.startsWith('run stalled'))).toBe(false);
  });

  it('a success is recorded as success and never runs again', async () => {
    const { starts, history } = await runAcrossOutage('success');
    expect(history.map((h) => [h.attempt, h.outcome])).toEqual([[1, 'success']]);
    expect(starts).toHaveLength(1);
  });
});
