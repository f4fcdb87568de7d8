import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { OffsetClock, SystemClock, type Clock } from '../../src/clock/clock.js';
import type { SchedulerConfigInput } from '../../src/config/config.js';
import { SchedkitError } from '../../src/errors/schedkit-error.js';
import type { InMemoryMetrics } from '../../src/observability/in-memory-metrics.js';
import type { RecordingLogger } from '../../src/observability/recording-logger.js';
import { until, wait } from '../helpers/fixtures.js';
import { randomPrefix, startRedis, type RedisServer } from '../helpers/redis-server.js';
import { redisInstance, type RedisInstance } from '../helpers/redis-scheduler.js';

/**
 * SPEC §4, one property per test, with several schedulers in this process on
 * one real Redis (the multi-process tests in test/cluster/ do the same with
 * real processes). Time is real: Redis TIME cannot be faked.
 */

let redis: RedisServer;
let admin: Redis;
const open: Array<() => Promise<void>> = [];
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => void unhandled.push(reason);

beforeAll(async () => {
  redis = await startRedis();
  admin = new Redis({ host: redis.host, port: redis.port });
  process.on('unhandledRejection', onUnhandled);
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((close) => close()));
  expect(unhandled).toEqual([]);
});
afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  admin?.disconnect();
  await redis?.stop();
});

type Instance = RedisInstance<RecordingLogger, InMemoryMetrics>;

async function instance(prefix: string, config: SchedulerConfigInput = {}, clock?: Clock, url = redis.url): Promise<Instance> {
  const created = await redisInstance({ url, prefix, config: { pollIntervalMs: 200, ...config }, ...(clock === undefined ? {} : { clock }) });
  open.push(() => created.close());
  return created;
}

describe('SPEC §4 on Redis, several schedulers', () => {
  it('1. exactly once per slot, and 6. fencing tokens strictly increase per job', async () => {
    const prefix = randomPrefix('once');
    const runs: Array<{ slot: number; token: number; by: string }> = [];
    const instances = await Promise.all([1, 2, 3].map(() => instance(prefix)));
    for (const { scheduler } of instances) {
      await scheduler.register({
        name: 'tick',
        schedule: '* * * * * *',
        handler: (ctx) => void runs.push({ slot: ctx.scheduledAt.getTime(), token: ctx.fencingToken, by: scheduler.instanceId }),
      });
    }
    await Promise.all(instances.map((i) => i.scheduler.start()));
    await wait(5_500);
    const slots = runs.map((r) => r.slot);
    expect(slots.length).toBeGreaterThanOrEqual(4);
    expect(new Set(slots).size).toBe(slots.length);
    const bySlot = [...runs].sort((a, b) => a.slot - b.slot);
    for (let i = 1; i < bySlot.length; i++) expect(bySlot[i]!.token).toBeGreaterThan(bySlot[i - 1]!.token);
  });

  it('2. no overlap across instances with overlap: skip; the skipped slots are recorded', async () => {
    const prefix = randomPrefix('overlap');
    const active = new Set<string>();
    let maxActive = 0;
    const instances = await Promise.all([1, 2, 3].map(() => instance(prefix)));
    for (const { scheduler } of instances) {
      await scheduler.register({
        name: 'slow',
        schedule: '* * * * * *',
        overlap: 'skip',
        handler: async (ctx) => {
          active.add(ctx.runId);
          maxActive = Math.max(maxActive, active.size);
          await wait(2_500);
          active.delete(ctx.runId);
        },
      });
    }
    await Promise.all(instances.map((i) => i.scheduler.start()));
    await wait(6_000);
    expect(maxActive).toBe(1);
    const history = await instances[0]!.scheduler.history('slow');
    expect(history.filter((h) => h.outcome === 'skipped').length).toBeGreaterThanOrEqual(2);
    expect(history.filter((h) => h.outcome === 'success').length).toBeGreaterThanOrEqual(1);
  });

  it('4. a run whose lock is taken over is aborted with E_LOCK_LOST, recorded lock-lost, and retried', async () => {
    const prefix = randomPrefix('lost');
    const { scheduler } = await instance(prefix, { lockTtlMs: 1_500, lockRefreshMs: 300 });
    const reasons: unknown[] = [];
    let attempts = 0;
    await scheduler.register({
      name: 'guarded',
      lockTtlMs: 1_500,
      retry: { maxRetries: 1, strategy: 'fixed', initialDelayMs: 100, jitter: 'none' },
      handler: async (ctx) => {
        attempts++;
        if (attempts > 1) return;
        // Someone else takes the lock over, as after an expiry we did not see.
        const keys = await admin.keys(`{${prefix}}:lock:*guarded*`);
        expect(keys).toHaveLength(1);
        await admin.set(keys[0]!, 'somebody-else', 'PX', 1_000, 'XX');
        await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => (reasons.push(ctx.signal.reason), resolve())));
      },
    });
    await scheduler.start();
    await scheduler.trigger('guarded');
    await until('the retry', () => attempts >= 2);
    await until('history', () => false, 300).catch(() => undefined);
    expect(SchedkitError.is(reasons[0], 'E_LOCK_LOST')).toBe(true);
    const outcomes = (await scheduler.history('guarded')).map((h) => h.outcome);
    expect(outcomes).toEqual(['success', 'lock-lost']);
  });

  it('5. instances 5 s ahead and 5 s behind: no slot twice, none started before its slot by Redis time', async () => {
    const prefix = randomPrefix('skew');
    const starts: Array<{ slot: number; at: number }> = [];
    const ahead = await instance(prefix, { takeoverDelayMs: 0, maxClockSkewMs: 2_000 }, new OffsetClock(new SystemClock(), 5_000));
    const behind = await instance(prefix, { takeoverDelayMs: 0, maxClockSkewMs: 2_000 }, new OffsetClock(new SystemClock(), -5_000));
    for (const { scheduler } of [ahead, behind]) {
      await scheduler.register({
        name: 'skewed',
        schedule: '* * * * * *',
        // Date.now() here is the machine's clock, the one Redis TIME reads.
        handler: (ctx) => void starts.push({ slot: ctx.scheduledAt.getTime(), at: Date.now() }),
      });
      await scheduler.start();
    }
    await wait(6_000);
    // Every slot of the window ran (on backend time, both instances try each slot at its time).
    expect(starts.length).toBeGreaterThanOrEqual(5);
    for (const s of starts) expect(s.at).toBeGreaterThanOrEqual(s.slot);
    for (const s of starts) expect(s.at - s.slot).toBeLessThan(1_000);
    expect(new Set(starts.map((s) => s.slot)).size).toBe(starts.length);
    expect(ahead.logger.find('differs from the backend clock')).toHaveLength(1);
    expect(behind.logger.find('differs from the backend clock')).toHaveLength(1);
  });

  it('8. pause, resume, remove everywhere and trigger issued on one instance take effect on the others within a second', async () => {
    const prefix = randomPrefix('propagate');
    const a = await instance(prefix);
    const b = await instance(prefix);
    const runs: Array<{ at: number; by: string }> = [];
    await b.scheduler.register({ name: 'tick', schedule: '* * * * * *', handler: () => void runs.push({ at: Date.now(), by: 'b' }) });
    await b.scheduler.register({ name: 'export', handler: () => void runs.push({ at: Date.now(), by: 'b-export' }) });
    await a.scheduler.register({ name: 'export', handler: () => void runs.push({ at: Date.now(), by: 'a-export' }) });
    await Promise.all([a.scheduler.start(), b.scheduler.start()]);
    await until('a first run', () => runs.some((r) => r.by === 'b'));

    await a.scheduler.pause('tick');
    const pausedAt = Date.now();
    await wait(2_500);
    expect(runs.filter((r) => r.by === 'b' && r.at > pausedAt + 1_000)).toEqual([]);
    await a.scheduler.resume('tick');
    const resumedAt = Date.now();
    await until('a run after resume', () => runs.some((r) => r.by === 'b' && r.at > resumedAt));
    expect(runs.find((r) => r.by === 'b' && r.at > resumedAt)!.at - resumedAt).toBeLessThanOrEqual(1_100);

    // Triggered on a, which then drops the job: only b can run it.
    const dueAt = Date.now() + 500;
    await a.scheduler.trigger('export', { id: 'export-1', at: new Date(dueAt) });
    await a.scheduler.remove('export');
    await until('the triggered run', () => runs.some((r) => r.by === 'b-export'));
    expect(runs.find((r) => r.by === 'b-export')!.at - dueAt).toBeLessThanOrEqual(1_000);
    expect(runs.some((r) => r.by === 'a-export')).toBe(false);

    await a.scheduler.remove('tick', { everywhere: true });
    const removedAt = Date.now();
    await wait(2_000);
    expect(runs.filter((r) => r.by === 'b' && r.at > removedAt + 1_000)).toEqual([]);
    expect(await b.scheduler.getJob('tick')).toBeNull();
  });

  it('9. a Redis outage stops runs, is logged once, and recovers with the misfire policy', async () => {
    const outage = await startRedis();
    const prefix = randomPrefix('outage');
    const url = outage.url;
    const make = (): Promise<Instance> => instance(prefix, {}, undefined, url);
    const instances = [await make(), await make()];
    const runs: number[] = [];
    for (const { scheduler } of instances) {
      await scheduler.register({ name: 'tick', schedule: '* * * * * *', misfire: 'run-once', handler: (ctx) => void runs.push(ctx.scheduledAt.getTime()) });
      await scheduler.start();
    }
    await until('runs before the outage', () => runs.length >= 2);
    await outage.kill();
    const downAt = Date.now();
    await wait(3_000);
    expect(runs.filter((slot) => slot > downAt + 200)).toEqual([]);
    for (const { logger } of instances) expect(logger.find('unreachable: no run starts').length).toBe(1);
    const restarted = await outage.restart(); // the data is gone, as after a crash without persistence
    open.push(() => restarted.stop());
    const upAt = Date.now();
    await until('runs after the outage', () => runs.some((slot) => slot > upAt), 10_000);
    expect(runs.find((slot) => slot > upAt)! - upAt).toBeLessThanOrEqual(5_000);
    await wait(2_000);
    expect(new Set(runs).size).toBe(runs.length);
    for (const { logger } of instances) expect(logger.find('reachable again').length).toBeGreaterThanOrEqual(1);
  });
});
