import { afterEach, describe, expect, it } from 'vitest';
import type { Backend } from '../../../src/backend/backend.js';
import { SchedkitError } from '../../../src/errors/schedkit-error.js';
import type { SchedulerEvents } from '../../../src/scheduler/events.js';
import type { Scheduler } from '../../../src/scheduler/scheduler.js';
import { createWorld, deferred, iso, recorder, type World } from '../../helpers/scheduler-harness.js';

let world: World;
afterEach(async () => world?.stopAll());

const AT_15 = '2026-01-01T15:00:00.000Z';
const AT_16 = '2026-01-01T16:00:00.000Z';

async function rejection(promise: Promise<unknown>): Promise<SchedkitError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!SchedkitError.is(error)) throw new Error(`expected a SchedkitError, got ${String(error)}`);
  return error;
}

function collect<E extends keyof SchedulerEvents>(scheduler: Scheduler, event: E): Array<SchedulerEvents[E]> {
  const seen: Array<SchedulerEvents[E]> = [];
  scheduler.on(event, (payload) => seen.push(payload));
  return seen;
}

describe('getRun and listRuns', () => {
  it('reports a pending one-off run by id alone (within its tenant) or with its job, with Dates and parsed params', async () => {
    world = createWorld();
    const { scheduler } = world.instance();
    await scheduler.register({ name: 'publish', tenantId: 'acme', handler: () => {} });
    await scheduler.start();
    await scheduler.trigger('publish', { tenantId: 'acme', id: 'post-1', at: AT_15, params: { postId: 1 } });

    const run = await scheduler.getRun('post-1', { tenantId: 'acme' });
    expect(run).toMatchObject({ id: 'post-1', name: 'publish', tenantId: 'acme', kind: 'trigger', state: 'pending', attempt: 1, outcome: null, params: { postId: 1 }, cancelRequested: false });
    expect(run!.scheduledAt).toBeInstanceOf(Date);
    expect(iso(run!.dueAt.getTime())).toBe(AT_15);
    expect(await scheduler.getRun('post-1', { tenantId: 'acme', name: 'publish' })).toEqual(run);
    // Another tenant, or no tenant, does not see it.
    expect(await scheduler.getRun('post-1')).toBeNull();
    expect(await scheduler.getRun('post-1', { tenantId: 'other' })).toBeNull();
    expect(await scheduler.getRun('nope', { tenantId: 'acme' })).toBeNull();
  });

  it('lists pending runs by job, tenant and state, a page at a time', async () => {
    world = createWorld();
    const { scheduler } = world.instance();
    await scheduler.register({ name: 'publish', tenantId: 'acme', handler: () => {} });
    await scheduler.register({ name: 'publish', tenantId: 'globex', handler: () => {} });
    await scheduler.start();
    for (let i = 0; i < 5; i++) await scheduler.trigger('publish', { tenantId: 'acme', id: `a-${i}`, at: AT_15 });
    await scheduler.trigger('publish', { tenantId: 'globex', id: 'g-0', at: AT_15 });

    const all = await scheduler.listRuns();
    expect(all.runs.map((r) => r.id).sort()).toEqual(['a-0', 'a-1', 'a-2', 'a-3', 'a-4', 'g-0']);
    expect(all.cursor).toBeNull();
    expect((await scheduler.listRuns({ tenantId: 'globex' })).runs.map((r) => r.id)).toEqual(['g-0']);
    expect((await scheduler.listRuns({ name: 'publish', tenantId: 'acme', state: 'running' })).runs).toEqual([]);

    const ids: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await scheduler.listRuns({ name: 'publish', tenantId: 'acme', state: 'pending', limit: 2, cursor });
      expect(page.runs.length).toBeLessThanOrEqual(2);
      ids.push(...page.runs.map((r) => r.id));
      cursor = page.cursor;
      pages++;
    } while (cursor !== null && pages < 10);
    expect(ids).toEqual(['a-0', 'a-1', 'a-2', 'a-3', 'a-4']);
  });

  it('works before start (a web process may never start the scheduler)', async () => {
    world = createWorld();
    const { scheduler } = world.instance();
    await scheduler.register({ name: 'publish', handler: () => {} });
    await scheduler.trigger('publish', { id: 'early', at: AT_15 });
    expect(await scheduler.getRun('early')).toMatchObject({ state: 'pending' });
    expect((await scheduler.listRuns()).runs.map((r) => r.id)).toEqual(['early']);
    expect(await scheduler.reschedule('early', { at: AT_16 })).toMatchObject({ state: 'pending' });
    expect(await scheduler.cancel('early')).toMatchObject({ state: 'done', outcome: 'cancelled' });
  });
});

describe('cancel', () => {
  it('cancels a pending run cluster-wide: it never runs, history and events record it once, a repeat changes nothing', async () => {
    world = createWorld();
    const { scheduler, metrics } = world.instance();
    const other = world.instance();
    const { calls, handler } = recorder(world.clock);
    await scheduler.register({ name: 'publish', tenantId: 'acme', handler });
    await other.scheduler.register({ name: 'publish', tenantId: 'acme', handler });
    await scheduler.start();
    await other.scheduler.start();
    const cancelled = collect(scheduler, 'run:cancelled');
    await scheduler.trigger('publish', { tenantId: 'acme', id: 'post-1', at: AT_15, params: { postId: 1 } });

    const info = await scheduler.cancel('post-1', { tenantId: 'acme' });
    expect(info).toMatchObject({ id: 'post-1', name: 'publish', state: 'done', outcome: 'cancelled' });
    expect(cancelled).toEqual([
      expect.objectContaining({ name: 'publish', tenantId: 'acme', id: 'post-1', runId: null, kind: 'trigger', attempt: 1, instanceId: scheduler.instanceId, while: 'pending' }),
    ]);
    expect(metrics.count('runCancelled', 'acme/publish')).toBe(1);

    const again = await scheduler.cancel('post-1', { tenantId: 'acme', name: 'publish' });
    expect(again).toMatchObject({ state: 'done', outcome: 'cancelled' });
    expect(cancelled).toHaveLength(1);

    await world.clock.advanceTo(AT_16);
    expect(calls).toHaveLength(0);
    const history = await scheduler.history('publish', { tenantId: 'acme' });
    expect(history.map((h) => [h.id, h.outcome, h.startedAt, h.instanceId])).toEqual([['post-1', 'cancelled', null, scheduler.instanceId]]);
    expect((await scheduler.listRuns()).runs).toEqual([]);
  });

  it('refuses a finished run (E_RUN_FINISHED) and an unknown one (E_RUN_NOT_FOUND), changing nothing', async () => {
    world = createWorld();
    const { scheduler } = world.instance();
    await scheduler.register({ name: 'publish', tenantId: 'acme', handler: () => {} });
    await scheduler.start();
    await scheduler.trigger('publish', { tenantId: 'acme', id: 'done-1' });
    await world.clock.advance(10);
    expect(await scheduler.getRun('done-1', { tenantId: 'acme' })).toMatchObject({ state: 'done', outcome: 'success' });
    const historyBefore = await scheduler.history('publish', { tenantId: 'acme' });

    const finished = await rejection(scheduler.cancel('done-1', { tenantId: 'acme' }));
    expect(finished.code).toBe('E_RUN_FINISHED');
    expect(finished.message).toContain('done-1');
    expect(finished.message).toContain('acme/publish');
    const moved = await rejection(scheduler.reschedule('done-1', { tenantId: 'acme', at: AT_16 }));
    expect(moved.code).toBe('E_RUN_FINISHED');

    const missing = await rejection(scheduler.cancel('nope', { tenantId: 'acme' }));
    expect(missing.code).toBe('E_RUN_NOT_FOUND');
    expect(missing.message).toContain('"nope"');
    expect((await rejection(scheduler.reschedule('nope', { tenantId: 'acme', name: 'publish', at: AT_16 }))).code).toBe('E_RUN_NOT_FOUND');

    expect(await scheduler.getRun('done-1', { tenantId: 'acme' })).toMatchObject({ state: 'done', outcome: 'success' });
    expect(await scheduler.history('publish', { tenantId: 'acme' })).toEqual(historyBefore);
  });
});

describe('reschedule', () => {
  it('moves a pending run: it runs at the new time, once, and history records the move', async () => {
    world = createWorld();
    const { scheduler } = world.instance();
    const { calls, handler } = recorder(world.clock);
    await scheduler.register({ name: 'publish', handler });
    await scheduler.start();
    await scheduler.trigger('publish', { id: 'post-1', at: AT_15 });

    const moved = await scheduler.reschedule('post-1', { at: new Date(AT_16) });
    expect(moved).toMatchObject({ state: 'pending' });
    expect(iso(moved.dueAt.getTime())).toBe(AT_16);
    expect(iso(moved.scheduledAt.getTime())).toBe(AT_16);
    const same = await scheduler.reschedule('post-1', { at: AT_16 });
    expect(iso(same.dueAt.getTime())).toBe(AT_16);

    await world.clock.advanceTo('2026-01-01T15:30:00.000Z');
    expect(calls).toHaveLength(0);
    await world.clock.advanceTo('2026-01-01T16:00:01.000Z');
    expect(calls.map((c) => iso(c.at))).toEqual([AT_16]);
    const history = await scheduler.history('publish');
    expect(history.map((h) => h.outcome)).toEqual(['success', 'rescheduled']);
  });

  it('refuses a running run with E_RUN_RUNNING', async () => {
    world = createWorld();
    const { scheduler } = world.instance();
    const release = deferred();
    await scheduler.register({ name: 'slow', handler: () => release.promise });
    await scheduler.start();
    await scheduler.trigger('slow', { id: 'slow-1' });
    await world.clock.advance(10);
    expect(await scheduler.getRun('slow-1')).toMatchObject({ state: 'running', instanceId: scheduler.instanceId });
    expect((await scheduler.listRuns({ state: 'running' })).runs.map((r) => r.id)).toEqual(['slow-1']);
    const error = await rejection(scheduler.reschedule('slow-1', { at: AT_16 }));
    expect(error.code).toBe('E_RUN_RUNNING');
    expect(error.message).toContain('slow-1');
    release.resolve();
    await world.clock.advance(10);
  });
});

describe('bad input', () => {
  it('refuses each bad argument with E_INVALID_ARGUMENT naming the field, and changes nothing', async () => {
    world = createWorld();
    const { scheduler } = world.instance();
    await scheduler.register({ name: 'publish', handler: () => {} });
    await scheduler.start();
    await scheduler.trigger('publish', { id: 'post-1', at: AT_15 });
    const before = await scheduler.getRun('post-1');
    const past = new Date(world.clock.now() - 60_000);
    const cases: Array<[string, () => Promise<unknown>, string]> = [
      ['getRun bad id', () => scheduler.getRun('has space'), 'id'],
      ['getRun id not a string', () => scheduler.getRun(42 as never), 'id'],
      ['getRun unknown option', () => scheduler.getRun('post-1', { tenant: 'x' } as never), 'tenant'],
      ['getRun bad tenant', () => scheduler.getRun('post-1', { tenantId: 'a/b' }), 'tenantId'],
      ['getRun bad name', () => scheduler.getRun('post-1', { name: 'bad name!' }), 'name'],
      ['listRuns unknown option', () => scheduler.listRuns({ status: 'pending' } as never), 'status'],
      ['listRuns state done', () => scheduler.listRuns({ state: 'done' as never }), 'state'],
      ['listRuns limit 0', () => scheduler.listRuns({ limit: 0 }), 'limit'],
      ['listRuns limit 1001', () => scheduler.listRuns({ limit: 1001 }), 'limit'],
      ['listRuns limit 1.5', () => scheduler.listRuns({ limit: 1.5 }), 'limit'],
      ['listRuns cursor number', () => scheduler.listRuns({ cursor: 5 as never }), 'cursor'],
      ['listRuns bad tenant', () => scheduler.listRuns({ tenantId: '' }), 'tenantId'],
      ['cancel bad id', () => scheduler.cancel(''), 'id'],
      ['cancel abort not boolean', () => scheduler.cancel('post-1', { abort: 'yes' as never }), 'abort'],
      ['cancel unknown option', () => scheduler.cancel('post-1', { force: true } as never), 'force'],
      ['cancel options not object', () => scheduler.cancel('post-1', 'acme' as never), 'options'],
      ['reschedule no at', () => scheduler.reschedule('post-1', {} as never), 'at'],
      ['reschedule at not a date', () => scheduler.reschedule('post-1', { at: 'tomorrow' }), 'at'],
      ['reschedule invalid Date', () => scheduler.reschedule('post-1', { at: new Date(NaN) }), 'at'],
      ['reschedule at in the past', () => scheduler.reschedule('post-1', { at: past }), 'at'],
      ['reschedule unknown option', () => scheduler.reschedule('post-1', { at: AT_16, when: 1 } as never), 'when'],
      ['reschedule bad name', () => scheduler.reschedule('post-1', { at: AT_16, name: 'a b' }), 'name'],
    ];
    for (const [label, call, field] of cases) {
      const error = await rejection(call());
      expect(error.code, label).toBe('E_INVALID_ARGUMENT');
      expect(error.message, label).toContain(field);
      expect(error.details.field, label).toBe(field);
    }
    expect(await scheduler.getRun('post-1')).toEqual(before);
    expect(await scheduler.history('publish')).toEqual([]);
  });
});

describe('cancel with abort', () => {
  it('aborts a running handler with CancelledError: outcome cancelled, no retry, run:cancelled emitted', async () => {
    world = createWorld();
    const { scheduler, metrics } = world.instance();
    const reasons: unknown[] = [];
    await scheduler.register({
      name: 'export',
      retry: { maxRetries: 3 },
      handler: (ctx) =>
        new Promise<void>((_, reject) => {
          ctx.signal.addEventListener('abort', () => {
            reasons.push(ctx.signal.reason);
            reject(ctx.signal.reason as Error);
          });
        }),
    });
    await scheduler.start();
    const cancelled = collect(scheduler, 'run:cancelled');
    const failures = collect(scheduler, 'run:failure');
    await scheduler.trigger('export', { id: 'export-1' });
    await world.clock.advance(10);
    expect(await scheduler.getRun('export-1')).toMatchObject({ state: 'running' });

    const info = await scheduler.cancel('export-1', { abort: true });
    expect(info).toMatchObject({ id: 'export-1', cancelRequested: true });
    await world.clock.advance(10);

    expect(reasons).toHaveLength(1);
    expect(SchedkitError.is(reasons[0], 'E_CANCELLED')).toBe(true);
    expect((reasons[0] as Error).name).toBe('CancelledError');
    expect(cancelled).toEqual([expect.objectContaining({ name: 'export', id: 'export-1', kind: 'trigger', while: 'running', instanceId: scheduler.instanceId })]);
    expect(failures).toEqual([]);
    expect(metrics.count('runCancelled', 'export')).toBe(1);
    expect(metrics.count('runFailed', 'export')).toBe(0);

    await world.clock.advance(3_600_000);
    expect(reasons).toHaveLength(1); // never retried
    expect(await scheduler.getRun('export-1')).toMatchObject({ state: 'done', outcome: 'cancelled' });
    const history = await scheduler.history('export');
    expect(history.map((h) => h.outcome)).toContain('cancelled');
    expect(history.every((h) => h.outcome === 'cancelled')).toBe(true);
  });

  it('aborts when only the heartbeat carries the cancel (the notice was missed)', async () => {
    world = createWorld();
    // A backend whose cancel notices never arrive: the heartbeat's `cancel` answer must do.
    const deaf = new Proxy(world.backend, {
      get(target, property, receiver) {
        if (property === 'onRunCancelled') return () => () => {};
        const value = Reflect.get(target, property, receiver) as unknown;
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    }) as Backend;
    const { scheduler } = world.instance({ lockTtlMs: 3_000, lockRefreshMs: 1_000 }, { backend: deaf });
    const reasons: unknown[] = [];
    await scheduler.register({
      name: 'export',
      handler: (ctx) =>
        new Promise<void>((resolve) => {
          ctx.signal.addEventListener('abort', () => {
            reasons.push(ctx.signal.reason);
            resolve();
          });
        }),
    });
    await scheduler.start();
    await scheduler.trigger('export', { id: 'export-1' });
    await world.clock.advance(10);
    await scheduler.cancel('export-1', { abort: true });
    await world.clock.advance(10);
    expect(reasons).toHaveLength(0);
    await world.clock.advance(2_000);
    expect(reasons).toHaveLength(1);
    expect(SchedkitError.is(reasons[0], 'E_CANCELLED')).toBe(true);
    expect(await scheduler.getRun('export-1')).toMatchObject({ state: 'done', outcome: 'cancelled' });
  });

  it('without abort, lets a running run finish and does not retry it', async () => {
    world = createWorld();
    const { scheduler } = world.instance();
    const release = deferred();
    let attempts = 0;
    await scheduler.register({
      name: 'flaky',
      retry: { maxRetries: 3, initialDelayMs: 1_000 },
      handler: async () => {
        attempts++;
        await release.promise;
        throw new Error('boom');
      },
    });
    await scheduler.start();
    await scheduler.trigger('flaky', { id: 'flaky-1' });
    await world.clock.advance(10);
    const info = await scheduler.cancel('flaky-1');
    expect(info).toMatchObject({ state: 'running', cancelRequested: true });
    release.resolve();
    await world.clock.advance(3_600_000);
    expect(attempts).toBe(1);
    expect(await scheduler.getRun('flaky-1')).toMatchObject({ state: 'done', outcome: 'failed' });
  });
});
