import { afterEach, describe, expect, it } from 'vitest';
import type { Backend } from '../../../src/backend/backend.js';
import { BackendUnavailableError } from '../../../src/errors/schedkit-error.js';
import { outageBackend } from '../../helpers/outage-backend.js';
import { createWorld, type World } from '../../helpers/scheduler-harness.js';

let world: World;
afterEach(async () => world?.stopAll());

/**
 * A store that is only slow, not gone: the next `times` calls of `method`
 * (once `armed` says so) fail as a client command timeout does
 * (E_BACKEND_UNAVAILABLE, "Command timed out"), or with `error`, without
 * reaching the store; every other call answers.
 */
function slowOnce(
  store: Backend,
  method: keyof Backend,
  times = 1,
  error = (): Error => new BackendUnavailableError(`${String(method)}: Redis unreachable: Command timed out`),
  armed = (): boolean => true,
): Backend {
  let left = times;
  return new Proxy(store, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (prop === method && left > 0 && armed()) {
          left--;
          return Promise.reject(error());
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

/*
 * Overload (a saturated Redis, an event loop blocked past a client's command
 * timeout) makes one call time out while the store still answers. That is
 * slowness, not an outage: no `backend:down`, no pause in dispatching, and
 * the outcome whose call timed out is recorded as it happened — not dropped,
 * not left to be reaped as `stalled` a lease later.
 */
describe('one backend call times out while the backend still answers', () => {
  it('an outcome whose record call timed out is recorded soon after, with no outage declared', async () => {
    world = createWorld();
    const backend = slowOnce(world.backend, 'finishRuns');
    const a = world.instance({ instanceId: 'a', lockTtlMs: 30_000, pollIntervalMs: 1_000 }, { backend });
    const downs: unknown[] = [];
    a.scheduler.on('backend:down', (e) => downs.push(e));
    let runs = 0;
    await a.scheduler.register({ name: 'export', handler: () => void runs++ });
    await a.scheduler.start();
    await a.scheduler.trigger('export', { id: 'e-1' });
    await world.clock.advance(3_000);

    expect(runs).toBe(1);
    expect(downs).toEqual([]);
    const history = await a.scheduler.history('export');
    expect(history.map((h) => [h.id, h.attempt, h.outcome])).toEqual([['e-1', 1, 'success']]);
    expect(a.logger.entries.filter((l) => l.level === 'error')).toEqual([]);
    expect(a.logger.entries.some((l) => l.level === 'warn' && l.message.includes('slow, not down'))).toBe(true);
    // Nothing is left for a reaper: the run is not active any more.
    await world.clock.advance(60_000);
    expect(runs).toBe(1);
    expect((await a.scheduler.history('export')).map((h) => h.outcome)).toEqual(['success']);
  });

  it('an outcome whose record call failed with another error is sent again, not left to be reaped and run twice', async () => {
    world = createWorld();
    // A replica promoted back to read-only in a failover: not a connection error.
    const backend = slowOnce(world.backend, 'finishRuns', 1, () => new Error("READONLY You can't write against a read only replica."));
    const config = { lockTtlMs: 30_000, lockRefreshMs: 10_000, pollIntervalMs: 1_000 };
    const a = world.instance({ ...config, instanceId: 'a' }, { backend });
    const b = world.instance({ ...config, instanceId: 'b' });
    let runs = 0;
    for (const { scheduler } of [a, b]) {
      await scheduler.register({ name: 'export', handler: () => void runs++ });
      await scheduler.start();
    }
    await a.scheduler.trigger('export', { id: 'e-1' });
    // Well past the 30 s lease: a run left active would be reaped as stalled and run again.
    await world.clock.advance(120_000);

    expect(runs).toBe(1);
    const history = await a.scheduler.history('export');
    expect(history.map((h) => [h.id, h.attempt, h.outcome])).toEqual([['e-1', 1, 'success']]);
    const logs = [...a.logger.entries, ...b.logger.entries];
    expect(logs.some((l) => l.message.startsWith('run stalled'))).toBe(false);
  });

  it('a claim that timed out once does not declare an outage, and slots keep running', async () => {
    world = createWorld('2026-01-01T00:00:00.500Z');
    const backend = slowOnce(world.backend, 'claimSlots');
    const a = world.instance({ instanceId: 'a', pollIntervalMs: 1_000 }, { backend });
    const downs: unknown[] = [];
    a.scheduler.on('backend:down', (e) => downs.push(e));
    const slots: number[] = [];
    await a.scheduler.register({ name: 'tick', schedule: '* * * * * *', handler: (ctx) => void slots.push(ctx.scheduledAt.getTime()) });
    await a.scheduler.start();
    await world.clock.advance(5_000);

    expect(downs).toEqual([]);
    // Every second from :01 to :05 ran, the one whose claim timed out included (caught up by the misfire policy).
    expect(new Set(slots).size).toBe(5);
    expect(slots.length).toBe(5);
  });

  it('one slow call re-plans only the jobs whose claim failed: slots that are only late (waiting for a permit) still run', async () => {
    world = createWorld('2026-01-01T00:00:00.500Z');
    const backend = slowOnce(world.backend, 'finishRuns');
    // One permit: while "hog" runs, the slots of "tick" wait for it.
    const a = world.instance({ instanceId: 'a', pollIntervalMs: 1_000, maxConcurrent: 1 }, { backend });
    const slots: number[] = [];
    await a.scheduler.register({ name: 'hog', handler: () => new Promise<void>((resolve) => world.clock.setTimeout(resolve, 2_500)) });
    await a.scheduler.register({ name: 'tick', schedule: '* * * * * *', handler: (ctx) => void slots.push(ctx.scheduledAt.getTime()) });
    await a.scheduler.start();
    await a.scheduler.trigger('hog', { id: 'h-1' });
    // hog ends at 3.0 s and its outcome call times out (slow, not down); tick's slots 1-3 s are late, not missed.
    await world.clock.advance(5_000);

    const start = Date.parse('2026-01-01T00:00:00.000Z');
    expect([...new Set(slots)].sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5].map((s) => start + s * 1_000));
    expect(slots.length).toBe(5);
    expect(a.logger.entries.filter((l) => l.message === 'missed slots')).toEqual([]);
    expect((await a.scheduler.history('hog')).map((h) => h.outcome)).toEqual(['success']);
  });

  it('a re-plan whose store call also times out is retried: the job keeps running, no slot passes unrecorded', async () => {
    world = createWorld('2026-01-01T00:00:00.500Z');
    // After start: one slot claim times out, then the re-plan's upsert does too (slow both times, never down).
    let armed = false;
    const failed: string[] = [];
    const timeout = (method: keyof Backend) => (): Error => {
      failed.push(method);
      return new BackendUnavailableError(`${method}: Redis unreachable: Command timed out`);
    };
    const slowClaim = slowOnce(world.backend, 'claimSlots', 1, timeout('claimSlots'), () => armed);
    const backend = slowOnce(slowClaim, 'upsertJobs', 1, timeout('upsertJobs'), () => armed);
    const a = world.instance({ instanceId: 'a', pollIntervalMs: 1_000 }, { backend });
    const downs: unknown[] = [];
    a.scheduler.on('backend:down', (e) => downs.push(e));
    const slots: number[] = [];
    await a.scheduler.register({ name: 'tick', schedule: '* * * * * *', handler: (ctx) => void slots.push(ctx.scheduledAt.getTime()) });
    await a.scheduler.start();
    armed = true;
    await world.clock.advance(8_000);

    expect(failed).toEqual(['claimSlots', 'upsertJobs']);
    expect(downs).toEqual([]);
    // Every slot from :01 to :08 ran or was logged as dropped by the misfire policy; the later ones ran.
    const start = Date.parse('2026-01-01T00:00:00.000Z');
    const dropped = a.logger.entries.filter((l) => l.message === 'missed slots').reduce((n, l) => n + Number((l.fields as { dropped?: number }).dropped ?? 0), 0);
    expect(new Set(slots).size + dropped).toBe(8);
    expect(slots).toContain(start + 8_000);
  });

  it('a load spike that also times out the first probe is not an outage when a probe answers within a second', async () => {
    world = createWorld('2026-01-01T00:00:00.500Z');
    // After start, the next slot claim and the next clock read (the probe's) time out, as under a spike.
    let spike = false;
    let failures = 0;
    const store = world.backend;
    const backend = new Proxy(store, {
      get(target, prop) {
        const value: unknown = Reflect.get(target, prop);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          if (spike && (prop === 'claimSlots' || prop === 'time') && failures < 2) {
            failures++;
            return Promise.reject(new BackendUnavailableError(`${String(prop)}: Redis unreachable: Command timed out`));
          }
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    const a = world.instance({ instanceId: 'a', pollIntervalMs: 1_000 }, { backend });
    const downs: unknown[] = [];
    a.scheduler.on('backend:down', (e) => downs.push(e));
    const slots: number[] = [];
    await a.scheduler.register({ name: 'tick', schedule: '* * * * * *', handler: (ctx) => void slots.push(ctx.scheduledAt.getTime()) });
    await a.scheduler.start();
    spike = true;
    await world.clock.advance(5_000);

    expect(failures).toBe(2);
    expect(downs).toEqual([]);
    expect(new Set(slots).size).toBe(5);
  });

  it('a store that does not answer at all still makes one outage, reported once', async () => {
    world = createWorld();
    const store = outageBackend(world.backend);
    const a = world.instance({ instanceId: 'a', pollIntervalMs: 1_000 }, { backend: store.backend });
    const states: string[] = [];
    a.scheduler.on('backend:down', () => states.push('down'));
    a.scheduler.on('backend:up', () => states.push('up'));
    await a.scheduler.register({ name: 'tick', schedule: '* * * * * *', handler: () => undefined });
    await a.scheduler.start();
    await world.clock.advance(1_500);
    store.down();
    await world.clock.advance(5_000);
    expect(states).toEqual(['down']);
    await store.up();
    await world.clock.advance(3_000);
    expect(states).toEqual(['down', 'up']);
  });
});
