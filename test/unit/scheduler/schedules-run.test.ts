import { afterEach, describe, expect, it } from 'vitest';
import { version as uuidVersion } from 'uuid';
import { createWorld, iso, recorder, type World } from '../../helpers/scheduler-harness.js';

let world: World;
afterEach(async () => world?.stopAll());

describe('scheduled runs on one instance', () => {
  it('runs a 6-field cron job at every slot, with the slot as scheduledAt', async () => {
    world = createWorld('2026-01-01T00:00:00.500Z');
    const { scheduler } = world.instance();
    const { calls, handler } = recorder(world.clock);
    await scheduler.register({ name: 'every-2s', schedule: '*/2 * * * * *', handler });
    await scheduler.start();
    await world.clock.advance(6_000);
    expect(calls.map((c) => iso(c.ctx.scheduledAt.getTime()))).toEqual([
      '2026-01-01T00:00:02.000Z',
      '2026-01-01T00:00:04.000Z',
      '2026-01-01T00:00:06.000Z',
    ]);
    // Started at the slot by the clock: no drift, nothing early.
    expect(calls.map((c) => c.at - c.ctx.scheduledAt.getTime())).toEqual([0, 0, 0]);
  });

  it('runs an interval job on slots aligned to its anchor', async () => {
    world = createWorld('2026-01-01T00:00:07.000Z');
    const { scheduler } = world.instance();
    const { calls, handler } = recorder(world.clock);
    await scheduler.register({ name: 'every-5s', schedule: { every: '5s' }, handler });
    await scheduler.start();
    await world.clock.advance(11_000);
    expect(calls.map((c) => iso(c.ctx.scheduledAt.getTime()))).toEqual(['2026-01-01T00:00:10.000Z', '2026-01-01T00:00:15.000Z']);
  });

  it('runs a once job once and then reports it completed', async () => {
    world = createWorld();
    const { scheduler } = world.instance();
    const { calls, handler } = recorder(world.clock);
    await scheduler.register({ name: 'launch', schedule: { at: '2026-01-01T00:01:00.000Z' }, handler });
    await scheduler.start();
    await world.clock.advance(10 * 60_000);
    expect(calls).toHaveLength(1);
    expect(iso(calls[0]!.at)).toBe('2026-01-01T00:01:00.000Z');
    const job = await scheduler.getJob('launch');
    expect(job).toMatchObject({ status: 'completed', runCount: 1, nextRunAt: null });
  });

  it('stops after `limit` runs and honours startAt/endAt', async () => {
    world = createWorld();
    const { scheduler } = world.instance();
    const limited = recorder(world.clock);
    const windowed = recorder(world.clock);
    await scheduler.register({ name: 'three-times', schedule: { cron: '* * * * * *', limit: 3 }, handler: limited.handler });
    await scheduler.register({
      name: 'windowed',
      schedule: { cron: '*/10 * * * * *', startAt: '2026-01-01T00:00:15.000Z', endAt: '2026-01-01T00:00:40.000Z' },
      handler: windowed.handler,
    });
    await scheduler.start();
    await world.clock.advance(60_000);
    expect(limited.calls).toHaveLength(3);
    expect((await scheduler.getJob('three-times'))?.status).toBe('completed');
    expect(windowed.calls.map((c) => iso(c.at))).toEqual([
      '2026-01-01T00:00:20.000Z',
      '2026-01-01T00:00:30.000Z',
      '2026-01-01T00:00:40.000Z',
    ]);
  });

  it('follows a time zone: a Berlin 02:30 job runs once on the spring-forward day, at 03:30 CEST', async () => {
    world = createWorld('2026-03-28T00:00:00.000Z');
    // Three days of fake time: poll for one-off runs rarely, nothing is triggered.
    const { scheduler } = world.instance({ pollIntervalMs: 30_000 });
    const { calls, handler } = recorder(world.clock);
    await scheduler.register({ name: 'nightly', schedule: { cron: '30 2 * * *', tz: 'Europe/Berlin' }, handler });
    await scheduler.start();
    await world.clock.advance(3 * 86_400_000);
    expect(calls.map((c) => iso(c.at))).toEqual([
      '2026-03-28T01:30:00.000Z', // 02:30 CET
      '2026-03-29T01:30:00.000Z', // 02:30 does not exist: 03:30 CEST
      '2026-03-30T00:30:00.000Z', // 02:30 CEST
    ]);
  });

  it('gives each run a context: uuid v7 run id, attempt, increasing fencing token, params, child logger', async () => {
    world = createWorld();
    const { scheduler, logger } = world.instance();
    const { calls, handler } = recorder(world.clock, (ctx) => ctx.logger.info('hello from the job'));
    await scheduler.register({ name: 'ctx', tenantId: 'acme', schedule: '* * * * * *', params: { region: 'eu' }, handler });
    await scheduler.start();
    await world.clock.advance(3_000);
    expect(calls).toHaveLength(3);
    for (const { ctx } of calls) {
      expect(uuidVersion(ctx.runId)).toBe(7);
      expect(ctx).toMatchObject({ name: 'ctx', tenantId: 'acme', attempt: 1, params: { region: 'eu' } });
      expect(ctx.signal.aborted).toBe(false);
    }
    const tokens = calls.map((c) => c.ctx.fencingToken);
    expect(tokens[0]! < tokens[1]! && tokens[1]! < tokens[2]!).toBe(true);
    const line = logger.find('hello from the job')[0]!;
    expect(line.fields).toMatchObject({ job: 'ctx', tenantId: 'acme', runId: calls[0]!.ctx.runId, attempt: 1 });
  });

  it('gives each run its own copy of the params', async () => {
    world = createWorld();
    const { scheduler } = world.instance();
    const seen: unknown[] = [];
    await scheduler.register({
      name: 'mutator',
      schedule: '* * * * * *',
      params: { list: [1] },
      handler: (ctx) => {
        seen.push(structuredClone(ctx.params));
        (ctx.params as { list: number[] }).list.push(2);
      },
    });
    await scheduler.start();
    await world.clock.advance(2_000);
    expect(seen).toEqual([{ list: [1] }, { list: [1] }]);
  });
});
