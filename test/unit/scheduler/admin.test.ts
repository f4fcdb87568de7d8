import { afterEach, describe, expect, it } from 'vitest';
import { SchedkitError } from '../../../src/errors/schedkit-error.js';
import { createWorld, iso, recorder, type World } from '../../helpers/scheduler-harness.js';

let world: World;
afterEach(async () => world?.stopAll());

describe('one-off runs (trigger)', () => {
  it('runs now or at `at`, with its own params, once per id', async () => {
    world = createWorld();
    const { scheduler } = world.instance();
    const { calls, handler } = recorder(world.clock);
    await scheduler.register({ name: 'publish-post', tenantId: 'acme', params: { default: true }, handler });
    await scheduler.start();
    const now = await scheduler.trigger('publish-post', { tenantId: 'acme', params: { postId: 1 } });
    const later = await scheduler.trigger('publish-post', { tenantId: 'acme', params: { postId: 2 }, at: '2026-01-01T15:00:00.000Z', id: 'post-2' });
    const again = await scheduler.trigger('publish-post', { tenantId: 'acme', params: { postId: 999 }, at: '2026-01-01T16:00:00.000Z', id: 'post-2' });
    expect(now).toMatchObject({ created: true, state: 'pending', name: 'publish-post', tenantId: 'acme' });
    expect(later).toMatchObject({ id: 'post-2', created: true });
    expect(again).toMatchObject({ id: 'post-2', created: false });
    expect(iso(again.dueAt.getTime())).toBe('2026-01-01T15:00:00.000Z');
    await world.clock.advanceTo('2026-01-01T17:00:00.000Z');
    expect(calls.map((c) => [iso(c.at), c.ctx.params, c.ctx.id])).toEqual([
      ['2026-01-01T00:00:00.000Z', { postId: 1 }, now.id],
      ['2026-01-01T15:00:00.000Z', { postId: 2 }, 'post-2'],
    ]);
    const history = await scheduler.history('publish-post', { tenantId: 'acme' });
    expect(history.map((h) => [h.kind, h.outcome, h.id])).toEqual([
      ['trigger', 'success', 'post-2'],
      ['trigger', 'success', now.id],
    ]);
  });

  it('uses the job params when the trigger gives none, and keeps trigger-only jobs off the clock', async () => {
    world = createWorld();
    const { scheduler } = world.instance();
    const { calls, handler } = recorder(world.clock);
    await scheduler.register({ name: 'manual', params: { from: 'job' }, handler });
    await scheduler.start();
    await world.clock.advance(3_600_000);
    expect(calls).toHaveLength(0);
    await scheduler.trigger('manual');
    await world.clock.advance(1);
    expect(calls.map((c) => c.ctx.params)).toEqual([{ from: 'job' }]);
    expect(await scheduler.getJob('manual')).toMatchObject({ schedule: null, nextRunAt: null, runCount: 1 });
  });

  it('rejects bad triggers with typed errors and enqueues nothing', async () => {
    world = createWorld();
    const { scheduler } = world.instance();
    await scheduler.register({ name: 'job', handler: () => {} });
    await scheduler.start();
    const cases: Array<[() => Promise<unknown>, string, string]> = [
      [() => scheduler.trigger('missing'), 'E_JOB_NOT_FOUND', 'missing'],
      [() => scheduler.trigger('job', { tenantId: 'other' }), 'E_JOB_NOT_FOUND', 'other/job'],
      [() => scheduler.trigger('job', { at: 'not a date' }), 'E_INVALID_ARGUMENT', 'at'],
      [() => scheduler.trigger('job', { at: new Date(NaN) }), 'E_INVALID_ARGUMENT', 'at'],
      [() => scheduler.trigger('job', { id: 'has space' }), 'E_INVALID_ARGUMENT', 'id'],
      [() => scheduler.trigger('job', { params: { when: new Date() } as never }), 'E_INVALID_PARAMS', 'when'],
      [() => scheduler.trigger('job', { param: 1 } as never), 'E_INVALID_ARGUMENT', 'param'],
      [() => scheduler.trigger('bad name!'), 'E_INVALID_ARGUMENT', 'name'],
    ];
    for (const [call, code, mentions] of cases) {
      const error = await call().catch((e: unknown) => e);
      expect(SchedkitError.is(error, code as never), `${String(error)} should be ${code}`).toBe(true);
      expect((error as Error).message).toContain(mentions);
    }
    expect(await world.backend.nextDueAt()).toBeNull();
  });
});

describe('before start', () => {
  it('accepts triggers and pauses from an init hook, and runs them once started', async () => {
    world = createWorld();
    const { scheduler } = world.instance();
    const early = recorder(world.clock);
    const paused = recorder(world.clock);
    await scheduler.register({ name: 'welcome', handler: early.handler });
    await scheduler.register({ name: 'tick', schedule: '* * * * * *', handler: paused.handler });
    const run = await scheduler.trigger('welcome', { params: { user: 'ada' }, id: 'welcome-ada' });
    await scheduler.pause('tick');
    await world.clock.advance(5_000);
    expect(early.calls).toHaveLength(0); // nothing runs before start
    await scheduler.start();
    await world.clock.advance(3_000);
    expect(early.calls.map((c) => [c.ctx.id, c.ctx.params])).toEqual([[run.id, { user: 'ada' }]]);
    expect(paused.calls).toHaveLength(0);
    await scheduler.resume('tick');
    await world.clock.advance(2_000);
    expect(paused.calls).toHaveLength(2);
  });

  it('refuses new work while stopping', async () => {
    world = createWorld();
    const { scheduler } = world.instance();
    await scheduler.register({ name: 'slow', handler: () => new Promise<void>((resolve) => world.clock.setTimeout(resolve, 5_000)) });
    await scheduler.start();
    await scheduler.trigger('slow');
    await world.clock.advance(10);
    const stopping = scheduler.stop();
    const refused = await scheduler.trigger('slow').catch((e: unknown) => e);
    expect(SchedkitError.is(refused, 'E_STOPPED')).toBe(true);
    await world.clock.advance(6_000);
    await stopping;
  });
});

describe('registration', () => {
  it('rejects invalid definitions with a typed error naming the job and field, storing nothing', async () => {
    world = createWorld();
    const { scheduler } = world.instance();
    await scheduler.start();
    const handler = () => {};
    const cases: Array<[unknown, string, string]> = [
      [{ name: '', handler }, 'E_INVALID_JOB', 'name'],
      [{ name: 'a b', handler }, 'E_INVALID_JOB', 'name'],
      [{ name: 'x'.repeat(201), handler }, 'E_INVALID_JOB', 'name'],
      [{ name: 'ok', tenantId: 'ac{me}', handler }, 'E_INVALID_JOB', 'tenantId'],
      [{ name: 'ok', handler: 'not a function' }, 'E_INVALID_JOB', 'handler'],
      [{ name: 'ok', handler, shedule: '* * * * *' }, 'E_INVALID_JOB', 'shedule'],
      [{ name: 'ok', handler, timeoutMs: 0 }, 'E_INVALID_JOB', 'timeoutMs'],
      [{ name: 'ok', handler, timeoutMs: NaN }, 'E_INVALID_JOB', 'timeoutMs'],
      [{ name: 'ok', handler, overlap: 'sometimes' }, 'E_INVALID_JOB', 'overlap'],
      [{ name: 'ok', handler, misfire: 'never' }, 'E_INVALID_JOB', 'misfire'],
      [{ name: 'ok', handler, lockTtlMs: -1 }, 'E_INVALID_JOB', 'lockTtlMs'],
      [{ name: 'ok', handler, retry: { maxRetries: -1 } }, 'E_INVALID_JOB', 'retry.maxRetries'],
      [{ name: 'ok', handler, schedule: '' }, 'E_INVALID_SCHEDULE', 'schedule'],
      [{ name: 'ok', handler, schedule: '61 * * * *' }, 'E_INVALID_SCHEDULE', 'schedule.cron'],
      [{ name: 'ok', handler, schedule: { cron: '* * * * *', tz: 'Mars/Olympus' } }, 'E_INVALID_SCHEDULE', 'schedule.tz'],
      [{ name: 'ok', handler, schedule: { every: 0 } }, 'E_INVALID_SCHEDULE', 'schedule.every'],
      [{ name: 'ok', handler, schedule: { every: NaN } }, 'E_INVALID_SCHEDULE', 'schedule.every'],
      [{ name: 'ok', handler, schedule: { at: 'tomorrow-ish' } }, 'E_INVALID_SCHEDULE', 'schedule.at'],
      [{ name: 'ok', handler, schedule: { every: '1m', startAt: '2026-02-01T00:00:00Z', endAt: '2026-01-01T00:00:00Z' } }, 'E_INVALID_SCHEDULE', 'schedule.endAt'],
      [{ name: 'ok', handler, params: { fn: () => 1 } }, 'E_INVALID_PARAMS', 'fn'],
      [{ name: 'ok', handler, params: JSON.parse('{"__proto__": {"polluted": true}}') }, 'E_INVALID_PARAMS', '__proto__'],
    ];
    for (const [definition, code, field] of cases) {
      const error = await scheduler.register(definition as never).catch((e: unknown) => e);
      expect(SchedkitError.is(error, code as never), `${JSON.stringify(definition)} -> ${String(error)}`).toBe(true);
      expect((error as Error).message).toContain(field);
      expect((error as Error).message).toMatch(/job/);
    }
    expect(await scheduler.listJobs()).toEqual([]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('rejects a duplicate identity unless replace is given; tenants are separate identities', async () => {
    world = createWorld();
    const { scheduler } = world.instance();
    const first = recorder(world.clock);
    const second = recorder(world.clock);
    await scheduler.register({ name: 'sync', schedule: '* * * * * *', handler: first.handler });
    await scheduler.register({ name: 'sync', tenantId: 'acme', schedule: '* * * * * *', handler: first.handler });
    const duplicate = await scheduler.register({ name: 'sync', schedule: '* * * * * *', handler: second.handler }).catch((e: unknown) => e);
    expect(SchedkitError.is(duplicate, 'E_DUPLICATE_JOB')).toBe(true);
    await scheduler.start();
    await world.clock.advance(1_000);
    await scheduler.register({ name: 'sync', schedule: '* * * * * *', handler: second.handler }, { replace: true });
    await world.clock.advance(2_000);
    expect(first.calls).toHaveLength(2 + 2); // both identities at :01, then acme/sync at :02 and :03
    expect(second.calls).toHaveLength(2);
    expect((await scheduler.listJobs()).map((j) => [j.tenantId ?? null, j.name])).toEqual([
      [null, 'sync'],
      ['acme', 'sync'],
    ]);
    expect((await scheduler.listJobs({ tenantId: 'acme' })).map((j) => j.name)).toEqual(['sync']);
  });

  it('reports job state: getJob, listJobs, history', async () => {
    world = createWorld();
    const { scheduler } = world.instance();
    await scheduler.register({ name: 'report', schedule: '*/5 * * * * *', handler: () => {} });
    expect(await scheduler.getJob('report')).toMatchObject({ status: 'scheduled', registeredHere: true, runCount: 0 });
    await scheduler.start();
    await world.clock.advance(10_000);
    const job = await scheduler.getJob('report');
    expect(job).toMatchObject({
      name: 'report',
      tenantId: undefined,
      status: 'scheduled',
      schedule: { kind: 'cron', cron: '*/5 * * * * *' },
      runCount: 2,
      failCount: 0,
      lastError: null,
      registeredHere: true,
    });
    expect(iso(job!.lastRunAt!.getTime())).toBe('2026-01-01T00:00:10.000Z');
    expect(iso(job!.nextRunAt!.getTime())).toBe('2026-01-01T00:00:15.000Z');
    const [latest] = await scheduler.history('report', { limit: 1 });
    expect(latest).toMatchObject({ outcome: 'success', attempt: 1, instanceId: scheduler.instanceId, kind: 'slot' });
    expect(iso(latest!.scheduledAt.getTime())).toBe('2026-01-01T00:00:10.000Z');
    expect(await scheduler.getJob('nope')).toBeNull();
  });

  it('caps history per job', async () => {
    world = createWorld(undefined, { historyLimit: 5 });
    const { scheduler } = world.instance({ historyLimit: 5 });
    await scheduler.register({ name: 'chatty', schedule: '* * * * * *', handler: () => {} });
    await scheduler.start();
    await world.clock.advance(12_000);
    const history = await scheduler.history('chatty');
    expect(history).toHaveLength(5);
    expect(iso(history[0]!.scheduledAt.getTime())).toBe('2026-01-01T00:00:12.000Z');
  });

  it('keeps running when an event listener throws', async () => {
    world = createWorld();
    const { scheduler, logger } = world.instance();
    const { calls, handler } = recorder(world.clock);
    scheduler.on('run:start', () => {
      throw new Error('bad listener');
    });
    await scheduler.register({ name: 'tick', schedule: '* * * * * *', handler });
    await scheduler.start();
    await world.clock.advance(3_000);
    expect(calls).toHaveLength(3);
    expect(logger.find('event listener threw')).toHaveLength(3);
  });
});
