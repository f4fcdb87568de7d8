import { afterEach, describe, expect, it } from 'vitest';
import { SchedulerClient } from '../../../src/client/scheduler-client.js';
import { ConfigError, SchedkitError } from '../../../src/errors/schedkit-error.js';
import { RecordingLogger } from '../../../src/observability/recording-logger.js';
import { createWorld, deferred, iso, recorder, type World } from '../../helpers/scheduler-harness.js';

let world: World;
afterEach(async () => world?.stopAll());

const AT_15 = '2026-01-01T15:00:00.000Z';
const AT_16 = '2026-01-01T16:00:00.000Z';

function clientOf(w: World, instanceId = 'web-1'): SchedulerClient {
  return new SchedulerClient({ backend: w.backend, clock: w.clock, config: { instanceId }, logger: new RecordingLogger() });
}

async function rejection(promise: Promise<unknown>): Promise<SchedkitError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!SchedkitError.is(error)) throw new Error(`expected a SchedkitError, got ${String(error)}`);
  return error;
}

describe('SchedulerClient', () => {
  it('triggers a run that a worker on the same backend runs, with its params', async () => {
    world = createWorld();
    const worker = world.instance();
    const { calls, handler } = recorder(world.clock);
    await worker.scheduler.register({ name: 'publish', tenantId: 'acme', handler });
    await worker.scheduler.start();
    const client = clientOf(world);

    const run = await client.trigger('publish', { tenantId: 'acme', id: 'post-1', at: AT_15, params: { postId: 1 } });
    expect(run).toMatchObject({ id: 'post-1', name: 'publish', tenantId: 'acme', created: true, state: 'pending' });
    expect(iso(run.dueAt.getTime())).toBe(AT_15);
    expect(await client.trigger('publish', { tenantId: 'acme', id: 'post-1', at: AT_16 })).toMatchObject({ created: false });
    expect(await client.getRun('post-1', { tenantId: 'acme' })).toMatchObject({ state: 'pending', params: { postId: 1 } });
    expect((await client.listRuns({ tenantId: 'acme' })).runs.map((r) => r.id)).toEqual(['post-1']);

    await world.clock.advanceTo('2026-01-01T15:00:01.000Z');
    expect(calls.map((c) => [iso(c.at), c.ctx.id, c.ctx.params])).toEqual([[AT_15, 'post-1', { postId: 1 }]]);
    expect((await client.history('publish', { tenantId: 'acme' })).map((h) => [h.id, h.outcome, h.instanceId])).toEqual([
      ['post-1', 'success', worker.scheduler.instanceId],
    ]);
  });

  it('cancels a pending run: no worker ever runs it; history names the client', async () => {
    world = createWorld();
    const worker = world.instance();
    const { calls, handler } = recorder(world.clock);
    await worker.scheduler.register({ name: 'publish', handler });
    await worker.scheduler.start();
    const client = clientOf(world);
    await client.trigger('publish', { id: 'post-1', at: AT_15 });
    expect(await client.cancel('post-1')).toMatchObject({ state: 'done', outcome: 'cancelled' });
    expect(await client.cancel('post-1')).toMatchObject({ state: 'done', outcome: 'cancelled' });
    await world.clock.advanceTo(AT_16);
    expect(calls).toHaveLength(0);
    expect((await client.history('publish')).map((h) => [h.id, h.outcome, h.instanceId])).toEqual([['post-1', 'cancelled', 'web-1']]);
  });

  it('moves a pending run, refusing a time in the past by the backend clock', async () => {
    world = createWorld();
    const worker = world.instance();
    const { calls, handler } = recorder(world.clock);
    await worker.scheduler.register({ name: 'publish', handler });
    await worker.scheduler.start();
    const client = clientOf(world);
    await client.trigger('publish', { id: 'post-1', at: AT_15 });
    const past = await rejection(client.reschedule('post-1', { at: new Date(world.clock.now() - 60_000) }));
    expect([past.code, past.details.field]).toEqual(['E_INVALID_ARGUMENT', 'at']);
    expect(iso((await client.reschedule('post-1', { at: AT_16 })).dueAt.getTime())).toBe(AT_16);
    await world.clock.advanceTo('2026-01-01T16:00:01.000Z');
    expect(calls.map((c) => iso(c.at))).toEqual([AT_16]);
  });

  it('aborts a run running on a worker (cancel with abort)', async () => {
    world = createWorld();
    const worker = world.instance();
    const aborted = deferred<unknown>();
    await worker.scheduler.register({
      name: 'export',
      handler: (ctx) =>
        new Promise<void>((resolve) => {
          ctx.signal.addEventListener('abort', () => {
            aborted.resolve(ctx.signal.reason);
            resolve();
          });
        }),
    });
    await worker.scheduler.start();
    const client = clientOf(world);
    await client.trigger('export', { id: 'export-1' });
    await world.clock.advance(10);
    expect(await client.cancel('export-1', { abort: true })).toMatchObject({ cancelRequested: true });
    await world.clock.advance(10);
    expect(SchedkitError.is(await aborted.promise, 'E_CANCELLED')).toBe(true);
    expect(await client.getRun('export-1')).toMatchObject({ state: 'done', outcome: 'cancelled' });
  });

  it('pauses, resumes and reads jobs stored by a worker', async () => {
    world = createWorld();
    const worker = world.instance();
    await worker.scheduler.register({ name: 'tick', tenantId: 'acme', schedule: '* * * * * *', handler: () => {} });
    await worker.scheduler.start();
    const client = clientOf(world);
    await client.pause('tick', { tenantId: 'acme' });
    expect(await client.getJob('tick', { tenantId: 'acme' })).toMatchObject({ status: 'paused', registeredHere: false });
    await client.resume('tick', { tenantId: 'acme' });
    expect(await client.getJob('tick', { tenantId: 'acme' })).toMatchObject({ status: 'scheduled' });
    expect((await client.listJobs()).map((j) => [j.tenantId, j.name, j.registeredHere])).toEqual([['acme', 'tick', false]]);
  });

  it('refuses a job the store has never seen and never creates one', async () => {
    world = createWorld();
    const client = clientOf(world);
    for (const call of [() => client.trigger('ghost', { tenantId: 'acme' }), () => client.pause('ghost'), () => client.resume('ghost', { tenantId: 'acme' })]) {
      const error = await rejection(call());
      expect(error.code).toBe('E_JOB_NOT_FOUND');
      expect(error.message).toContain('ghost');
    }
    expect(await client.getJob('ghost')).toBeNull();
    expect(await client.listJobs()).toEqual([]);
    expect(await client.history('ghost')).toEqual([]);
    expect((await client.listRuns()).runs).toEqual([]);
    expect(await world.backend.nextDueAt()).toBeNull();
  });

  it('checks arguments like the scheduler', async () => {
    world = createWorld();
    const client = clientOf(world);
    const cases: Array<[() => Promise<unknown>, string]> = [
      [() => client.trigger('bad name!'), 'name'],
      [() => client.trigger('job', { at: 'not a date' }), 'at'],
      [() => client.trigger('job', { id: 'has space' }), 'id'],
      [() => client.trigger('job', { param: 1 } as never), 'param'],
      [() => client.getRun('x', { abort: true } as never), 'abort'],
      [() => client.listRuns({ limit: 5000 }), 'limit'],
      [() => client.cancel('x', { abort: 1 as never }), 'abort'],
      [() => client.reschedule('x', { at: 'soon' }), 'at'],
      [() => client.getJob('job', 'acme' as never), 'tenantId'],
      [() => client.history('job', { limit: 0 }), 'limit'],
    ];
    for (const [call, field] of cases) {
      const error = await rejection(call());
      expect(error.code, field).toBe('E_INVALID_ARGUMENT');
      expect(error.message, field).toContain(field);
    }
    const params = await rejection(client.trigger('job', { params: { when: new Date() } as never }));
    expect(params.code).toBe('E_INVALID_PARAMS');
  });

  it('checks its config', () => {
    world = createWorld();
    expect(() => new SchedulerClient({ backend: world.backend, config: { maxConcurent: 1 } as never })).toThrow(ConfigError);
    expect(new SchedulerClient({ backend: world.backend, config: { instanceId: 'web-9' } }).instanceId).toBe('web-9');
  });
});
