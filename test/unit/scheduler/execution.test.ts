import { afterEach, describe, expect, it } from 'vitest';
import { SchedkitError } from '../../../src/errors/schedkit-error.js';
import { DefaultJobExecutor } from '../../../src/executor/default-job-executor.js';
import { createWorld, deferred, iso, recorder, type World } from '../../helpers/scheduler-harness.js';

let world: World;
afterEach(async () => world?.stopAll());

describe('failures, retries and timeouts', () => {
  it('retries a failing run with the job backoff, persisted as pending runs, then succeeds', async () => {
    world = createWorld();
    const { scheduler } = world.instance();
    let attempts = 0;
    const { calls, handler } = recorder(world.clock, () => {
      attempts++;
      if (attempts < 3) throw new Error(`boom ${attempts}`);
    });
    const retries: Array<{ retryAt: string; nextAttempt: number }> = [];
    scheduler.on('run:retry', (e) => retries.push({ retryAt: iso(e.retryAt.getTime()), nextAttempt: e.nextAttempt }));
    await scheduler.register({
      name: 'flaky',
      schedule: { at: '2026-01-01T00:00:10.000Z' },
      retry: { maxRetries: 3, strategy: 'exponential', initialDelayMs: 1_000, multiplier: 2, jitter: 'none' },
      handler,
    });
    await scheduler.start();
    await world.clock.advance(60_000);
    expect(calls.map((c) => [iso(c.at), c.ctx.attempt])).toEqual([
      ['2026-01-01T00:00:10.000Z', 1],
      ['2026-01-01T00:00:11.000Z', 2],
      ['2026-01-01T00:00:13.000Z', 3],
    ]);
    expect(retries).toEqual([
      { retryAt: '2026-01-01T00:00:11.000Z', nextAttempt: 2 },
      { retryAt: '2026-01-01T00:00:13.000Z', nextAttempt: 3 },
    ]);
    // Every attempt keeps the slot as scheduledAt and the run's stable id.
    expect(new Set(calls.map((c) => c.ctx.id)).size).toBe(1);
    expect(new Set(calls.map((c) => c.ctx.scheduledAt.getTime())).size).toBe(1);
    const history = await scheduler.history('flaky');
    expect(history.map((h) => [h.outcome, h.attempt, h.error])).toEqual([
      ['success', 3, null],
      ['failed', 2, 'boom 2'],
      ['failed', 1, 'boom 1'],
    ]);
    expect(await scheduler.getJob('flaky')).toMatchObject({ runCount: 3, failCount: 2, status: 'completed', lastError: null });
  });

  it('gives up after maxRetries and marks the job failed', async () => {
    world = createWorld();
    const { scheduler, metrics } = world.instance();
    const { calls, handler } = recorder(world.clock, () => Promise.reject(new Error('always')));
    await scheduler.register({
      name: 'doomed',
      schedule: { at: '2026-01-01T00:00:01.000Z' },
      retry: { maxRetries: 2, strategy: 'fixed', initialDelayMs: 500, jitter: 'none' },
      handler,
    });
    await scheduler.start();
    await world.clock.advance(30_000);
    expect(calls).toHaveLength(3);
    expect(await scheduler.getJob('doomed')).toMatchObject({ status: 'failed', failCount: 3, lastError: 'always' });
    expect(metrics.snapshot().counters.runRetried).toBe(2);
  });

  it('survives every way a handler can fail and keeps scheduling', async () => {
    world = createWorld();
    const { scheduler } = world.instance();
    const failures: Array<{ name: string; message: string; cause: unknown }> = [];
    scheduler.on('run:failure', (e) => failures.push({ name: e.name, message: e.error.message, cause: e.error.cause }));
    const throwers: Record<string, () => unknown> = {
      'sync-throw': () => {
        throw new Error('sync');
      },
      'async-reject': async () => {
        throw new TypeError('async');
      },
      'throws-string': () => {
        throw 'just a string';
      },
      'throws-undefined': () => {
        throw undefined;
      },
      'rejects-object': () => Promise.reject({ code: 42 }),
    };
    for (const [name, fn] of Object.entries(throwers)) {
      await scheduler.register({ name, schedule: '* * * * * *', retry: false, handler: fn });
    }
    const ok = recorder(world.clock, () => 'not a promise');
    await scheduler.register({ name: 'returns-value', schedule: '* * * * * *', handler: ok.handler });
    await scheduler.start();
    await world.clock.advance(2_000);
    expect(ok.calls).toHaveLength(2);
    expect(failures).toHaveLength(10);
    const byName = Object.fromEntries(failures.map((f) => [f.name, f]));
    expect(byName['sync-throw']!.message).toBe('sync');
    expect(byName['throws-string']!.cause).toBe('just a string');
    expect(byName['throws-undefined']!.cause).toBeUndefined();
    expect(byName['throws-undefined']!.message).toContain('non-Error');
    expect(byName['rejects-object']!.cause).toEqual({ code: 42 });
    expect((await scheduler.getJob('returns-value'))?.status).toBe('scheduled');
  });

  it('times out a run through its signal (E_TIMEOUT) and retries it', async () => {
    world = createWorld();
    const { scheduler, metrics } = world.instance();
    const reasons: unknown[] = [];
    const { calls, handler } = recorder(world.clock, (ctx) => {
      return new Promise<void>((_resolve, reject) => {
        ctx.signal.addEventListener('abort', () => {
          reasons.push(ctx.signal.reason);
          reject(ctx.signal.reason);
        });
      });
    });
    const timeouts: string[] = [];
    scheduler.on('run:timeout', (e) => timeouts.push(iso(e.scheduledAt.getTime())));
    await scheduler.register({
      name: 'slow',
      schedule: { at: '2026-01-01T00:00:01.000Z' },
      timeoutMs: 2_000,
      retry: { maxRetries: 1, strategy: 'fixed', initialDelayMs: 1_000, jitter: 'none' },
      handler,
    });
    await scheduler.start();
    await world.clock.advance(20_000);
    expect(calls.map((c) => iso(c.at))).toEqual(['2026-01-01T00:00:01.000Z', '2026-01-01T00:00:04.000Z']);
    expect(reasons).toHaveLength(2);
    expect(SchedkitError.is(reasons[0], 'E_TIMEOUT')).toBe(true);
    expect(timeouts).toHaveLength(2);
    expect(metrics.snapshot().counters.runTimedOut).toBe(2);
    const history = await scheduler.history('slow');
    expect(history.map((h) => h.outcome)).toEqual(['timeout', 'timeout']);
  });

  it('gives an executor without start() a signal per run, aborted by a cancel and by the stop', async () => {
    world = createWorld();
    const signals: Array<AbortSignal | undefined> = [];
    const { scheduler } = world.instance(
      {},
      {
        executor: (deps) => {
          const inner = new DefaultJobExecutor(deps);
          return {
            execute: (request) => {
              signals.push(request.signal);
              return inner.execute(request);
            },
          };
        },
      },
    );
    const reasons: unknown[] = [];
    await scheduler.register({
      name: 'export',
      retry: false,
      handler: (ctx) =>
        new Promise<void>((_resolve, reject) => {
          ctx.signal.addEventListener('abort', () => {
            reasons.push(ctx.signal.reason);
            reject(ctx.signal.reason as Error);
          });
        }),
    });
    await scheduler.start();
    await scheduler.trigger('export', { id: 'cancelled-1' });
    await scheduler.trigger('export', { id: 'stopped-1' });
    await world.clock.advance(10);
    expect(signals).toHaveLength(2);
    expect(signals.every((s) => s instanceof AbortSignal && !s.aborted)).toBe(true);
    await scheduler.cancel('cancelled-1', { abort: true });
    await world.clock.advance(10);
    const stopped = scheduler.stop();
    await world.clock.advance(60_000);
    await stopped;
    expect(reasons.map((r) => (r as SchedkitError).code)).toEqual(['E_CANCELLED', 'E_SHUTDOWN']);
    expect(await world.backend.getRun({ id: 'cancelled-1' })).toMatchObject({ state: 'done', outcome: 'cancelled' });
  });

  it('does not let a never-settling handler hold the scheduler; its permit and its run stay taken until it settles', async () => {
    world = createWorld();
    const { scheduler, metrics } = world.instance({ maxConcurrent: 2 });
    const hang = deferred();
    await scheduler.register({ name: 'hangs', schedule: { at: '2026-01-01T00:00:01.000Z' }, timeoutMs: 1_000, retry: false, handler: () => hang.promise });
    const other = recorder(world.clock);
    await scheduler.register({ name: 'other', schedule: '* * * * * *', handler: other.handler });
    await scheduler.start();
    const timeouts: string[] = [];
    scheduler.on('run:timeout', (e) => timeouts.push(e.name));
    await world.clock.advance(10_000);
    expect(other.calls).toHaveLength(10);
    // Told at once; the run stays active, leased, until the handler settles, so nothing runs it alongside.
    expect(timeouts).toEqual(['hangs']);
    expect(metrics.snapshot().counters.runAbandoned).toBe(1);
    expect(scheduler.inFlight).toBe(1);
    const [running] = (await scheduler.listRuns({ name: 'hangs' })).runs;
    expect(running?.state).toBe('running');
    expect(await scheduler.history('hangs')).toEqual([]);
    hang.resolve();
    await world.clock.advance(1);
    expect(scheduler.inFlight).toBe(0);
    expect((await scheduler.history('hangs')).map((h) => h.outcome)).toEqual(['timeout']);
    expect((await scheduler.listRuns({ name: 'hangs' })).runs).toEqual([]);
  });

  it('runs due slots that exceed maxConcurrent later instead of dropping them', async () => {
    world = createWorld();
    const { scheduler, metrics } = world.instance({ maxConcurrent: 1 });
    const order: string[] = [];
    for (const name of ['a', 'b', 'c']) {
      await scheduler.register({
        name,
        schedule: { at: '2026-01-01T00:00:01.000Z' },
        handler: async () => {
          order.push(`${name}:start@${world.clock.now() - Date.parse('2026-01-01T00:00:01.000Z')}`);
          await new Promise<void>((resolve) => world.clock.setTimeout(resolve, 500));
        },
      });
    }
    await scheduler.start();
    await world.clock.advance(5_000);
    expect(order).toEqual(['a:start@0', 'b:start@500', 'c:start@1000']);
    expect(metrics.snapshot().lateness.max).toBe(1_000);
  });
});

describe('overlap policies', () => {
  async function longRunning(overlap: 'skip' | 'buffer-one' | 'allow') {
    world = createWorld();
    const { scheduler, metrics } = world.instance();
    const starts: string[] = [];
    const finishers: Array<() => void> = [];
    await scheduler.register({
      name: 'long',
      schedule: '* * * * * *',
      overlap,
      timeoutMs: 60_000,
      handler: (ctx) => {
        starts.push(iso(ctx.scheduledAt.getTime()));
        return new Promise<void>((resolve) => finishers.push(resolve));
      },
    });
    const skipped: string[] = [];
    scheduler.on('run:skipped', (e) => skipped.push(iso(e.scheduledAt.getTime())));
    await scheduler.start();
    await world.clock.advance(3_500); // slots :01 :02 :03 while the first run is going
    return { scheduler, metrics, starts, finishers, skipped };
  }

  it('skip: slots due while a run is active are skipped and recorded', async () => {
    const { scheduler, starts, finishers, skipped } = await longRunning('skip');
    expect(starts).toEqual(['2026-01-01T00:00:01.000Z']);
    expect(skipped).toEqual(['2026-01-01T00:00:02.000Z', '2026-01-01T00:00:03.000Z']);
    finishers[0]!();
    await world.clock.advance(1_000);
    expect(starts).toEqual(['2026-01-01T00:00:01.000Z', '2026-01-01T00:00:04.000Z']);
    const history = await scheduler.history('long');
    expect(history.filter((h) => h.outcome === 'skipped')).toHaveLength(2);
    expect((await scheduler.getJob('long'))?.skippedCount).toBe(2);
  });

  it('buffer-one: one slot waits and starts as soon as the run ends; the others are skipped', async () => {
    const { starts, finishers, skipped } = await longRunning('buffer-one');
    expect(starts).toEqual(['2026-01-01T00:00:01.000Z']);
    expect(skipped).toEqual(['2026-01-01T00:00:03.000Z']);
    finishers[0]!();
    await world.clock.advance(10);
    expect(starts).toEqual(['2026-01-01T00:00:01.000Z', '2026-01-01T00:00:02.000Z']);
  });

  it('allow: runs overlap', async () => {
    const { starts, skipped } = await longRunning('allow');
    expect(starts).toEqual(['2026-01-01T00:00:01.000Z', '2026-01-01T00:00:02.000Z', '2026-01-01T00:00:03.000Z']);
    expect(skipped).toEqual([]);
  });
});
