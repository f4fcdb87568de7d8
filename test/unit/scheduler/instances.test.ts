import { KeyTable } from '../../../src/backend/key-table.js';
import { afterEach, describe, expect, it } from 'vitest';
import type { Backend } from '../../../src/backend/backend.js';
import { OffsetClock } from '../../../src/clock/clock.js';
import { BackendUnavailableError, SchedkitError } from '../../../src/errors/schedkit-error.js';
import type { DistributedLock, LockLease } from '../../../src/lock/distributed-lock.js';
import { createWorld, deferred, iso, recorder, type World } from '../../helpers/scheduler-harness.js';

let world: World;
afterEach(async () => world?.stopAll());

/**
 * Several schedulers in one process sharing one memory backend and lock act
 * like instances of a service: the contract they exercise is the one the
 * Redis backend implements across processes.
 */
describe('several instances on one backend', () => {
  it('runs each slot exactly once across instances', async () => {
    world = createWorld();
    const runs: Array<{ slot: string; instance: string }> = [];
    const instances = [1, 2, 3].map(() => world.instance());
    for (const { scheduler } of instances) {
      for (const name of ['a', 'b', 'c', 'd']) {
        await scheduler.register({
          name,
          schedule: '* * * * * *',
          handler: (ctx) => {
            runs.push({ slot: `${name}@${iso(ctx.scheduledAt.getTime())}`, instance: scheduler.instanceId });
          },
        });
      }
      await scheduler.start();
    }
    await world.clock.advance(20_000);
    const slots = runs.map((r) => r.slot);
    expect(slots).toHaveLength(4 * 20);
    expect(new Set(slots).size).toBe(slots.length);
  });

  it('spreads runs evenly over the live instances', async () => {
    world = createWorld();
    const byInstance = new Map<string, number>();
    const slots: string[] = [];
    const warmedUp = world.clock.now() + 5_000; // instances learn of each other within ~2 s
    for (let i = 0; i < 3; i++) {
      const { scheduler } = world.instance();
      for (let j = 0; j < 30; j++) {
        await scheduler.register({
          name: `job-${j}`,
          schedule: '* * * * * *',
          handler: (ctx) => {
            slots.push(`${ctx.name}@${ctx.scheduledAt.getTime()}`);
            if (ctx.scheduledAt.getTime() <= warmedUp) return;
            byInstance.set(scheduler.instanceId, (byInstance.get(scheduler.instanceId) ?? 0) + 1);
          },
        });
      }
      await scheduler.start();
    }
    await world.clock.advance(20_000);
    expect(slots).toHaveLength(30 * 20);
    expect(new Set(slots).size).toBe(slots.length);
    const counts = [...byInstance.values()];
    expect(counts).toHaveLength(3);
    expect(Math.max(...counts) / Math.min(...counts)).toBeLessThanOrEqual(1.5);
  });

  it('takes over the slots of an instance that is listed alive but does not claim, after takeoverDelayMs', async () => {
    world = createWorld();
    const { scheduler } = world.instance({ takeoverDelayMs: 100 });
    const { calls, handler } = recorder(world.clock);
    for (let j = 0; j < 10; j++) await scheduler.register({ name: `job-${j}`, schedule: '* * * * * *', handler });
    await scheduler.start();
    // A ghost: heartbeats were seen, but it never claims anything.
    await world.backend.heartbeatInstance('ghost', 3_600_000);
    const since = world.clock.now() + 5_000; // the next heartbeat round tells our instance about the ghost
    await world.clock.advance(11_000);
    const lateness = calls
      .filter((c) => c.ctx.scheduledAt.getTime() > since && c.ctx.scheduledAt.getTime() <= since + 5_000)
      .map((c) => c.at - c.ctx.scheduledAt.getTime());
    expect(lateness.length).toBe(10 * 5);
    expect(lateness.filter((ms) => ms === 100).length).toBeGreaterThan(0); // the ghost's share, taken over
    expect(lateness.every((ms) => ms === 0 || ms === 100)).toBe(true);
  });

  it('leaves a slot to its first two instances only; a slot both of them drop is on the record as missed, not lost', async () => {
    world = createWorld();
    const { scheduler } = world.instance({ takeoverDelayMs: 100 });
    const { calls, handler } = recorder(world.clock);
    for (let j = 0; j < 10; j++) await scheduler.register({ name: `job-${j}`, schedule: '* * * * * *', handler });
    await scheduler.start();
    // Two ghosts: listed alive, never claiming. Slots they both rank above us are claimed by nobody.
    await world.backend.heartbeatInstance('ghost-1', 3_600_000);
    await world.backend.heartbeatInstance('ghost-2', 3_600_000);
    const since = world.clock.now() + 5_000; // the next heartbeat round tells our instance about them
    await world.clock.advance(16_000);
    // The ghosts leave: every later slot is ours, and our next claims vouch for the ones they dropped.
    await world.backend.removeInstance('ghost-1');
    await world.backend.removeInstance('ghost-2');
    await world.clock.advance(5_000);
    const window = (slot: number): boolean => slot > since && slot <= since + 10_000;
    const ran = calls.filter((c) => window(c.ctx.scheduledAt.getTime()));
    let missed = 0;
    for (let j = 0; j < 10; j++) {
      const history = await scheduler.history(`job-${j}`, { limit: 100 });
      const recorded = history.filter((h) => window(h.scheduledAt.getTime()));
      missed += recorded.filter((h) => h.outcome === 'skipped' && h.reason === 'missed').length;
      // Every slot of the window is in the ledger: run, or missed. None silently gone.
      expect([...new Set(recorded.map((h) => h.scheduledAt.getTime() - since))].sort((a, b) => a - b), `job-${j}`).toEqual(
        Array.from({ length: 10 }, (_, k) => (k + 1) * 1_000),
      );
    }
    expect(ran.length + missed).toBe(10 * 10);
    // About a third of the slots rank both ghosts first (1 in 3 for 3 instances).
    expect(missed).toBeGreaterThan(0);
    expect(ran.length).toBeGreaterThan(0);
  });

  it('an instance that starts with a slot due and leaves it to two others vouches for it: a slot they both drop is on the record', async () => {
    world = createWorld();
    const jobs = Array.from({ length: 20 }, (_, j) => `job-${j}`);
    const first = world.instance({ takeoverDelayMs: 100 });
    for (const name of jobs) await first.scheduler.register({ name, schedule: '* * * * * *', misfire: 'run-all', handler: () => undefined });
    await first.scheduler.start();
    await world.clock.advance(3_000);
    const stopping = first.scheduler.stop();
    await world.clock.advance(100);
    await stopping;
    const lastRun = Math.floor(world.clock.now() / 1_000) * 1_000;
    // Two ghosts are listed alive and never claim; no instance runs for 2.5 s.
    await world.backend.heartbeatInstance('ghost-1', 3_600_000);
    await world.backend.heartbeatInstance('ghost-2', 3_600_000);
    await world.clock.advance(2_500);
    // A new instance starts with two slots of each job due: it claims those it ranks first or second, and leaves the others to the ghosts.
    const late = world.instance({ takeoverDelayMs: 100 });
    for (const name of jobs) await late.scheduler.register({ name, schedule: '* * * * * *', misfire: 'run-all', handler: () => undefined });
    await late.scheduler.start();
    await world.clock.advance(3_000);
    await world.backend.removeInstance('ghost-1');
    await world.backend.removeInstance('ghost-2');
    await world.clock.advance(12_000);
    const due = [lastRun + 1_000, lastRun + 2_000];
    let missed = 0;
    for (const name of jobs) {
      const history = await late.scheduler.history(name, { limit: 100 });
      for (const slot of due) {
        const entries = history.filter((h) => h.scheduledAt.getTime() === slot);
        // Run, or on the record as missed: never silently gone.
        expect(entries.length, `${name} at ${iso(slot)}`).toBeGreaterThan(0);
        missed += entries.filter((h) => h.outcome === 'skipped' && h.reason === 'missed').length;
      }
    }
    // Some slots ranked both ghosts above the new instance (about a third): they were missed, and say so.
    expect(missed).toBeGreaterThan(0);
  });

  it('propagates pause, resume, remove everywhere and trigger to every instance', async () => {
    world = createWorld();
    const a = world.instance();
    const b = world.instance();
    const runs: string[] = [];
    for (const { scheduler } of [a, b]) {
      await scheduler.register({ name: 'tick', schedule: '* * * * * *', handler: () => void runs.push(scheduler.instanceId) });
      await scheduler.start();
    }
    await world.clock.advance(2_000);
    expect(runs).toHaveLength(2);
    await b.scheduler.pause('tick');
    await world.clock.advance(3_000);
    expect(runs).toHaveLength(2);
    expect((await a.scheduler.getJob('tick'))?.status).toBe('paused');
    await a.scheduler.resume('tick');
    await world.clock.advance(2_000);
    expect(runs).toHaveLength(4);
    await b.scheduler.trigger('tick', { id: 'manual-1' });
    await world.clock.advance(10);
    expect(runs).toHaveLength(5);
    expect(await a.scheduler.remove('tick', { everywhere: true })).toBe(true);
    await world.clock.advance(3_000);
    expect(runs).toHaveLength(5);
    expect(await b.scheduler.getJob('tick')).toBeNull();
    expect(b.logger.find('removed everywhere')).toHaveLength(1);
  });

  it('recovers a run whose instance died: marked stalled, then run by another instance', async () => {
    world = createWorld();
    const survivor = world.instance({ lockTtlMs: 3_000, lockRefreshMs: 1_000 });
    const { calls, handler } = recorder(world.clock);
    await survivor.scheduler.register({ name: 'publish', lockTtlMs: 3_000, handler });
    await survivor.scheduler.start();
    const stalled: Array<{ instanceId: string; requeued: boolean }> = [];
    survivor.scheduler.on('run:stalled', (e) => stalled.push({ instanceId: e.instanceId, requeued: e.requeued }));
    // Another instance claims the run when it comes due, then dies: it never heartbeats again.
    const dueAt = world.clock.now() + 1_000;
    await world.backend.enqueueRun({ key: '/publish', id: 'post-43', kind: 'trigger', dueAt, params: '{"post":43}', maxAttempts: 3 });
    world.clock.set(dueAt);
    const claimed = (await world.backend.claimDueRuns({
      instanceId: 'dead-instance',
      leaseMs: 3_000,
      runIds: ['0190a000-0000-7000-8000-000000000002'],
      keys: KeyTable.of(['/publish']),
    })).runs;
    expect(claimed.map((r) => r.id)).toEqual(['post-43']);
    await world.clock.advance(5_000);
    expect(stalled).toEqual([{ instanceId: 'dead-instance', requeued: true }]);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.ctx).toMatchObject({ id: 'post-43', attempt: 2, params: { post: 43 } });
    // Within lockTtlMs + one refresh period of the death.
    expect(calls[0]!.at - dueAt).toBeLessThanOrEqual(3_000 + 1_000);
    const outcomes = (await survivor.scheduler.history('publish')).map((h) => [h.outcome, h.instanceId]);
    expect(outcomes).toEqual([
      ['success', survivor.scheduler.instanceId],
      ['stalled', 'dead-instance'],
    ]);
  });

  it('aborts a run whose lease cannot be refreshed with E_LOCK_LOST, records lock-lost and retries', async () => {
    world = createWorld();
    // The store answers that the run's lease is gone (as after a reap by another instance).
    const backend = world.backend;
    const heartbeat = backend.heartbeat.bind(backend);
    let failHeartbeats = false;
    backend.heartbeat = (runs, leaseMs) => (failHeartbeats ? Promise.resolve(runs.map(() => false)) : heartbeat(runs, leaseMs));
    const { scheduler } = world.instance({ lockTtlMs: 3_000, lockRefreshMs: 1_000 });
    const reasons: unknown[] = [];
    let attempt = 0;
    await scheduler.register({
      name: 'guarded',
      schedule: { at: '2026-01-01T00:00:01.000Z' },
      lockTtlMs: 3_000,
      retry: { maxRetries: 1, strategy: 'fixed', initialDelayMs: 1_000, jitter: 'none' },
      handler: (ctx) => {
        attempt++;
        if (attempt > 1) return;
        failHeartbeats = true;
        return new Promise<void>((resolve) =>
          ctx.signal.addEventListener('abort', () => {
            reasons.push(ctx.signal.reason);
            failHeartbeats = false;
            resolve(); // resolves after the loss: must still not count as a success
          }),
        );
      },
    });
    const lost: string[] = [];
    scheduler.on('lock:lost', (e) => lost.push(e.error.message));
    await scheduler.start();
    await world.clock.advance(10_000);
    expect(SchedkitError.is(reasons[0], 'E_LOCK_LOST')).toBe(true);
    expect(lost).toHaveLength(1);
    expect((await scheduler.history('guarded')).map((h) => h.outcome)).toEqual(['success', 'lock-lost']);
  });

  it('aborts a run of a lock group whose group lock cannot be refreshed with E_LOCK_LOST', async () => {
    world = createWorld();
    const flaky = new FlakyLock(world.lock);
    const { scheduler } = world.instance({ lockTtlMs: 3_000, lockRefreshMs: 1_000 }, { lock: flaky });
    const reasons: unknown[] = [];
    await scheduler.register({
      name: 'grouped',
      schedule: { at: '2026-01-01T00:00:01.000Z' },
      lockKey: 'reports',
      lockTtlMs: 3_000,
      retry: false,
      handler: (ctx) => {
        flaky.failExtends = true;
        return new Promise<void>((resolve) =>
          ctx.signal.addEventListener('abort', () => {
            reasons.push(ctx.signal.reason);
            flaky.failExtends = false;
            resolve();
          }),
        );
      },
    });
    await scheduler.start();
    await world.clock.advance(10_000);
    expect(SchedkitError.is(reasons[0], 'E_LOCK_LOST')).toBe(true);
    expect((await scheduler.history('grouped')).map((h) => h.outcome)).toEqual(['lock-lost']);
  });

  it('stops runs during a backend outage, logs it once, and applies the misfire policy when it returns', async () => {
    world = createWorld();
    const outage = withOutage(world.backend);
    const { scheduler, logger } = world.instance({ pollIntervalMs: 500 }, { backend: outage.backend });
    const { calls, handler } = recorder(world.clock);
    await scheduler.register({ name: 'tick', schedule: '* * * * * *', misfire: 'run-once', handler });
    const events: string[] = [];
    scheduler.on('backend:down', () => events.push('down'));
    scheduler.on('backend:up', () => events.push('up'));
    await scheduler.start();
    await world.clock.advance(3_000);
    expect(calls).toHaveLength(3);
    outage.state.down = true;
    await world.clock.advance(20_000);
    expect(calls).toHaveLength(3);
    expect(events).toEqual(['down']);
    expect(logger.find('unreachable')).toHaveLength(1);
    outage.state.down = false;
    await world.clock.advance(2_000);
    expect(events).toEqual(['down', 'up']);
    // One catch-up for the ~20 missed slots, then every second again.
    const slots = calls.map((c) => c.ctx.scheduledAt.getTime());
    expect(slots.length).toBeGreaterThanOrEqual(5);
    expect(slots.length).toBeLessThanOrEqual(6);
    expect(new Set(slots).size).toBe(slots.length);
  });

  it('never starts a slot early on an instance whose clock runs 5 s ahead, and never twice', async () => {
    world = createWorld();
    const ahead = world.instance({}, { clock: new OffsetClock(world.clock, 5_000) });
    const behind = world.instance({}, { clock: new OffsetClock(world.clock, -5_000) });
    const starts: Array<{ slot: number; backendTime: number }> = [];
    for (const { scheduler } of [ahead, behind]) {
      await scheduler.register({
        name: 'skewed',
        schedule: '*/2 * * * * *',
        handler: (ctx) => void starts.push({ slot: ctx.scheduledAt.getTime(), backendTime: world.clock.now() }),
      });
      await scheduler.start();
    }
    await world.clock.advance(30_000);
    expect(starts.length).toBeGreaterThanOrEqual(10);
    for (const s of starts) expect(s.backendTime).toBeGreaterThanOrEqual(s.slot);
    expect(new Set(starts.map((s) => s.slot)).size).toBe(starts.length);
  });

  it('on a rolling schedule change, the newest definition wins everywhere and no slot runs twice', async () => {
    world = createWorld();
    const old = world.instance();
    const runs: Array<{ slot: number; by: string }> = [];
    const handlerFor = (by: string) => (ctx: { scheduledAt: Date }) => void runs.push({ slot: ctx.scheduledAt.getTime(), by });
    await old.scheduler.register({ name: 'report', schedule: '*/2 * * * * *', handler: handlerFor('old') });
    await old.scheduler.start();
    await world.clock.advance(5_000);
    const fresh = world.instance();
    await fresh.scheduler.register({ name: 'report', schedule: '*/3 * * * * *', handler: handlerFor('new') });
    await fresh.scheduler.start();
    const changedAt = world.clock.now();
    await world.clock.advance(20_000);
    const after = runs.filter((r) => r.slot > changedAt + 2_000);
    expect(after.length).toBeGreaterThan(4);
    for (const r of after) expect(new Date(r.slot).getUTCSeconds() % 3).toBe(0);
    expect(new Set(runs.map((r) => r.slot)).size).toBe(runs.length);
    expect(old.logger.find('newer definition')).toHaveLength(1);
  });

  it('on stop, finishes what it can, aborts the rest with E_SHUTDOWN, and gives one-off runs back', async () => {
    world = createWorld();
    const leaving = world.instance({ shutdownTimeoutMs: 2_000 });
    const staying = world.instance();
    const seen: Array<{ by: string; attempt: number }> = [];
    const reasons: unknown[] = [];
    const gate = deferred();
    for (const inst of [leaving, staying]) {
      await inst.scheduler.register({
        name: 'export',
        handler: async (ctx) => {
          seen.push({ by: inst.scheduler.instanceId, attempt: ctx.attempt });
          if (inst === leaving) {
            await new Promise<void>((_r, reject) => ctx.signal.addEventListener('abort', () => (reasons.push(ctx.signal.reason), reject(ctx.signal.reason))));
          } else {
            await gate.promise;
          }
        },
      });
    }
    await leaving.scheduler.start();
    await leaving.scheduler.trigger('export', { id: 'export-1', params: { file: 'a.csv' } });
    await world.clock.advance(10);
    expect(seen).toEqual([{ by: leaving.scheduler.instanceId, attempt: 1 }]);
    await staying.scheduler.start();
    const stopped = leaving.scheduler.stop();
    await world.clock.advance(2_500);
    await stopped;
    expect(SchedkitError.is(reasons[0], 'E_SHUTDOWN')).toBe(true);
    await world.clock.advance(1_000);
    expect(seen[1]).toEqual({ by: staying.scheduler.instanceId, attempt: 1 });
    gate.resolve();
    await world.clock.advance(10);
    const outcomes = (await staying.scheduler.history('export')).map((h) => h.outcome);
    expect(outcomes).toEqual(['success', 'interrupted']);
  });
});

/** A lock whose extensions can be made to fail, as when Redis stops answering. */
class FlakyLock implements DistributedLock {
  failExtends = false;
  constructor(private readonly inner: DistributedLock) {}
  async acquire(...args: Parameters<DistributedLock['acquire']>): Promise<LockLease | null> {
    const lease = await this.inner.acquire(...args);
    if (lease === null) return null;
    const flaky = this;
    return {
      get resource() {
        return lease.resource;
      },
      get fencingToken() {
        return lease.fencingToken;
      },
      get expiresAt() {
        return lease.expiresAt;
      },
      get isReleased() {
        return lease.isReleased;
      },
      extend: (ttl?: number) => (flaky.failExtends ? Promise.reject(new BackendUnavailableError('lock store unreachable')) : lease.extend(ttl)),
      release: () => lease.release(),
    };
  }
  using: DistributedLock['using'] = (...args) => this.inner.using(...args);
}

/** A backend that can be switched off: every call rejects with E_BACKEND_UNAVAILABLE while `state.down`. */
function withOutage(inner: Backend): { backend: Backend; state: { down: boolean } } {
  const state = { down: false };
  const backend = new Proxy(inner, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop);
      if (typeof value !== 'function') return value;
      if (prop === 'onRunsChanged') return value.bind(target);
      return (...args: unknown[]) =>
        state.down ? Promise.reject(new BackendUnavailableError('connection refused')) : (value as (...a: unknown[]) => unknown).apply(target, args);
    },
  });
  return { backend, state };
}
