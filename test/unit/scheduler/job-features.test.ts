import { afterEach, describe, expect, it } from 'vitest';
import { jitterOffset } from '../../../src/schedule/jitter.js';
import type { SchedulerEvents } from '../../../src/scheduler/events.js';
import { createWorld, deferred, iso, recorder, type World } from '../../helpers/scheduler-harness.js';

let world: World;
afterEach(async () => world?.stopAll());

describe('schedule jitter', () => {
  it('fires each slot at slot + its offset, with the slot as scheduledAt and no lateness', async () => {
    world = createWorld();
    const { scheduler, metrics } = world.instance();
    const { calls, handler } = recorder(world.clock);
    const starts: Array<SchedulerEvents['run:start']> = [];
    scheduler.on('run:start', (e) => starts.push(e));
    await scheduler.register({ name: 'spread', schedule: { every: '1m' }, jitterMs: 30_000, handler });
    await scheduler.start();
    await world.clock.advance(3 * 60_000 + 30_000);

    const slots = [1, 2, 3].map((m) => Date.parse('2026-01-01T00:00:00Z') + m * 60_000);
    expect(calls.map((c) => iso(c.ctx.scheduledAt.getTime()))).toEqual(slots.map(iso));
    const offsets = slots.map((slot) => jitterOffset('/spread', slot, 30_000));
    expect(calls.map((c) => c.at)).toEqual(slots.map((slot, i) => slot + offsets[i]!));
    // The offsets differ (the slots do not all move by one amount) and are not all 0.
    expect(new Set(offsets).size).toBeGreaterThan(1);
    expect(starts.map((s) => s.latenessMs)).toEqual([0, 0, 0]);
    expect(metrics.snapshot().lateness.max).toBe(0);
  });

  it('two instances compute the same fire time: one run per slot, at the same instant', async () => {
    world = createWorld();
    const a = world.instance();
    const b = world.instance();
    const { calls, handler } = recorder(world.clock);
    for (const { scheduler } of [a, b]) {
      await scheduler.register({ name: 'spread', tenantId: 'acme', schedule: '* * * * *', jitterMs: 45_000, handler });
      await scheduler.start();
    }
    await world.clock.advance(5 * 60_000 + 45_000);
    expect(calls).toHaveLength(5);
    for (const c of calls) expect(c.at).toBe(c.ctx.scheduledAt.getTime() + jitterOffset('acme/spread', c.ctx.scheduledAt.getTime(), 45_000));
  });
});

describe('exclusions', () => {
  it('does not run an excluded slot: history says skipped (excluded), the event says so too', async () => {
    world = createWorld();
    const { scheduler } = world.instance();
    const { calls, handler } = recorder(world.clock);
    const skipped: Array<SchedulerEvents['run:skipped']> = [];
    scheduler.on('run:skipped', (e) => skipped.push(e));
    await scheduler.register({
      name: 'minutely',
      schedule: '* * * * *',
      exclude: [{ cron: '2 * * * *' }, { from: '2026-01-01T00:04:00Z', to: '2026-01-01T00:05:00Z' }],
      handler,
    });
    await scheduler.start();
    await world.clock.advance(5 * 60_000);

    expect(calls.map((c) => iso(c.ctx.scheduledAt.getTime()))).toEqual(['2026-01-01T00:01:00.000Z', '2026-01-01T00:03:00.000Z', '2026-01-01T00:05:00.000Z']);
    expect(skipped.map((e) => [iso(e.scheduledAt.getTime()), e.reason])).toEqual([
      ['2026-01-01T00:02:00.000Z', 'excluded'],
      ['2026-01-01T00:04:00.000Z', 'excluded'],
    ]);
    const history = await scheduler.history('minutely');
    const excluded = history.filter((e) => e.outcome === 'skipped');
    expect(excluded.map((e) => [iso(e.scheduledAt.getTime()), (e as { reason?: string | null }).reason])).toEqual([
      ['2026-01-01T00:04:00.000Z', 'excluded'],
      ['2026-01-01T00:02:00.000Z', 'excluded'],
    ]);
    expect(await scheduler.getJob('minutely')).toMatchObject({ runCount: 3 });
  });

  it('an excluded slot does not count toward the limit', async () => {
    world = createWorld();
    const { scheduler } = world.instance();
    const { calls, handler } = recorder(world.clock);
    await scheduler.register({ name: 'twice', schedule: { cron: '* * * * *', limit: 2 }, exclude: [{ cron: '1 * * * *' }], handler });
    await scheduler.start();
    await world.clock.advance(5 * 60_000);
    expect(calls.map((c) => iso(c.ctx.scheduledAt.getTime()))).toEqual(['2026-01-01T00:02:00.000Z', '2026-01-01T00:03:00.000Z']);
  });
});

describe('rate limits', () => {
  it('a limited slot claim waits for room and runs late (no run lost); the wait shows in lateness and metrics', async () => {
    world = createWorld();
    const { scheduler, metrics } = world.instance();
    const { calls, handler } = recorder(world.clock);
    const rateLimit = { key: 'platform:x', max: 1, perMs: 10_000 };
    await scheduler.register({ name: 'a', schedule: '* * * * *', rateLimit, handler });
    await scheduler.register({ name: 'b', schedule: '* * * * *', rateLimit, handler });
    await scheduler.start();
    await world.clock.advance(60_000 + 20_000);

    const slot = Date.parse('2026-01-01T00:01:00Z');
    expect(calls.map((c) => c.ctx.scheduledAt.getTime())).toEqual([slot, slot]);
    const lateness = calls.map((c) => c.at - slot).sort((x, y) => x - y);
    expect(lateness[0]).toBe(0);
    expect(lateness[1]).toBeGreaterThanOrEqual(10_000);
    expect(lateness[1]).toBeLessThan(11_000);
    expect(metrics.count('rateLimitWait')).toBeGreaterThanOrEqual(1);
    expect(metrics.snapshot().lateness.max).toBeGreaterThanOrEqual(10_000);
  });

  it('a slot that finds no room before its next slot is recorded skipped (rate-limited), never passed over unrecorded', async () => {
    world = createWorld();
    const { scheduler, metrics } = world.instance();
    const { calls, handler } = recorder(world.clock);
    const skipped: Array<SchedulerEvents['run:skipped']> = [];
    scheduler.on('run:skipped', (e) => skipped.push(e));
    // One place per 150 s for two jobs on every minute: each minute one slot of the two gets in at most.
    const rateLimit = { key: 'platform:x', max: 1, perMs: 150_000 };
    await scheduler.register({ name: 'a', schedule: '* * * * *', rateLimit, handler });
    await scheduler.register({ name: 'b', schedule: '* * * * *', rateLimit, handler });
    await scheduler.start();
    await world.clock.advanceTo('2026-01-01T00:10:30Z');

    // Every slot of both jobs from 00:01 to 00:10 either ran or was recorded skipped, once.
    const ran = calls.map((c) => `${c.ctx.name}@${iso(c.ctx.scheduledAt.getTime())}`);
    const passed = skipped.map((e) => `${e.name}@${iso(e.scheduledAt.getTime())}`);
    expect(skipped.every((e) => e.reason === 'rate-limited')).toBe(true);
    const all = [...ran, ...passed].sort();
    const expected = ['a', 'b'].flatMap((name) => Array.from({ length: 10 }, (_, i) => `${name}@${iso(Date.parse('2026-01-01T00:01:00Z') + i * 60_000)}`)).sort();
    expect(all).toEqual(expected);
    // The limit held: starts at least 150 s apart.
    const starts = calls.map((c) => c.at).sort((x, y) => x - y);
    for (let i = 1; i < starts.length; i++) expect(starts[i]! - starts[i - 1]!).toBeGreaterThanOrEqual(150_000);
    expect(ran.length).toBeGreaterThanOrEqual(4);
    // History says why, and the skips are counted.
    const history = [...(await scheduler.history('a')), ...(await scheduler.history('b'))].filter((h) => h.outcome === 'skipped');
    expect(history.map((h) => h.reason)).toEqual(passed.map(() => 'rate-limited'));
    expect(metrics.count('runSkipped')).toBe(passed.length);
  });
});

describe('lock groups', () => {
  it('two jobs with one lockKey never run at the same time on one instance; the later one waits and starts when the first ends', async () => {
    world = createWorld();
    const { scheduler } = world.instance();
    const running = new Set<string>();
    const log: string[] = [];
    let overlapped = false;
    const release = deferred();
    const handler = (name: string) => async () => {
      if (running.size > 0) overlapped = true;
      running.add(name);
      log.push(`start ${name}`);
      if (name === 'a') await release.promise;
      running.delete(name);
      log.push(`end ${name}`);
    };
    await scheduler.register({ name: 'a', lockKey: 'posts:acme', handler: handler('a'), timeoutMs: 120_000 });
    await scheduler.register({ name: 'b', lockKey: 'posts:acme', handler: handler('b'), timeoutMs: 120_000 });
    await scheduler.start();
    await scheduler.trigger('a');
    await world.clock.advance(100);
    await scheduler.trigger('b');
    // Longer than lockTtlMs (30 s): a run of a group waits up to its timeoutMs, heartbeating its claim.
    await world.clock.advance(45_000);
    expect(log).toEqual(['start a']);
    release.resolve();
    await world.clock.advance(1_000);
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b']);
    expect(overlapped).toBe(false);
    const history = [...(await scheduler.history('a')), ...(await scheduler.history('b'))];
    expect(history.map((e) => e.outcome).sort()).toEqual(['success', 'success']);
  });

  it('jobs without a lockKey (or with different ones) still run side by side', async () => {
    world = createWorld();
    const { scheduler } = world.instance();
    const running: string[] = [];
    const release = deferred();
    for (const [name, lockKey] of [['a', 'g1'], ['b', 'g2'], ['c', undefined]] as const) {
      await scheduler.register({ name, ...(lockKey === undefined ? {} : { lockKey }), handler: async () => {
        running.push(name);
        await release.promise;
      } });
    }
    await scheduler.start();
    for (const name of ['a', 'b', 'c']) await scheduler.trigger(name);
    await world.clock.advance(1_000);
    expect(running.sort()).toEqual(['a', 'b', 'c']);
    release.resolve();
  });
});

describe('run on start', () => {
  it('runs once when the job is first stored, however many instances register it', async () => {
    world = createWorld();
    const { calls, handler } = recorder(world.clock);
    for (let i = 0; i < 2; i++) {
      const { scheduler } = world.instance();
      await scheduler.register({ name: 'warm-up', schedule: '0 0 1 1 *', runOnStart: true, handler });
      await scheduler.start();
    }
    await world.clock.advance(5_000);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.ctx.id).toBe('on-start');
    // A later registration (a restart) does not run it again.
    const { scheduler } = world.instance();
    await scheduler.register({ name: 'warm-up', schedule: '0 0 1 1 *', runOnStart: true, handler });
    await scheduler.start();
    await world.clock.advance(5_000);
    expect(calls).toHaveLength(1);
    expect((await scheduler.history('warm-up')).map((e) => [e.id, e.outcome])).toEqual([['on-start', 'success']]);
  });
});
