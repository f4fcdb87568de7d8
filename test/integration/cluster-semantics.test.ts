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
  it('1. exactly once per slot, 0 missed, an even share per instance, and 6. fencing tokens strictly increase per job', async () => {
    const prefix = randomPrefix('once');
    // The share is decided per (job, slot) by a hash: with N runs in the window
    // each instance's count varies by about sqrt(N * 2/9). 200 jobs x ~4 slots
    // (about 267 runs each, sigma 13) keep 1.5 four sigmas away; 30 jobs
    // (40 each, sigma 5) crossed it now and then.
    const JOBS = 200;
    /** Max/min runs per instance; the cluster-throughput benchmark holds the same bound. */
    const SPREAD_BOUND = 1.5;
    const runs: Array<{ job: number; slot: number; token: number; by: string }> = [];
    const instances = await Promise.all([1, 2, 3].map(() => instance(prefix)));
    for (const { scheduler } of instances) {
      for (let job = 0; job < JOBS; job++) {
        await scheduler.register({
          name: `tick-${job}`,
          schedule: '* * * * * *',
          handler: (ctx) => void runs.push({ job, slot: ctx.scheduledAt.getTime(), token: ctx.fencingToken, by: scheduler.instanceId }),
        });
      }
    }
    await Promise.all(instances.map((i) => i.scheduler.start()));
    // From 2 s on every instance has heard the others (heartbeats every 2 s) and takes its share.
    const from = Math.ceil(Date.now() / 1000) * 1000 + 2_000;
    await wait(7_500);
    const to = Math.floor(Date.now() / 1000) * 1000 - 1_000; // slots that had time to run
    const window = runs.filter((r) => r.slot >= from && r.slot <= to);

    // Once: no (job, slot) twice, over the whole test.
    const pairs = runs.map((r) => `${r.job}@${r.slot}`);
    expect(pairs.length - new Set(pairs).size).toBe(0);
    // 0 missed: every job ran every slot of the window.
    const ran = new Set(pairs);
    const missing: string[] = [];
    for (let job = 0; job < JOBS; job++) {
      for (let slot = from; slot <= to; slot += 1_000) if (!ran.has(`${job}@${slot}`)) missing.push(`${job}@${slot}`);
    }
    expect(missing).toEqual([]);
    expect(window.length).toBe(JOBS * ((to - from) / 1_000 + 1));
    // An even share: every instance ran some, none more than SPREAD_BOUND times another.
    const perInstance = instances.map(({ scheduler }) => window.filter((r) => r.by === scheduler.instanceId).length);
    expect(Math.min(...perInstance), JSON.stringify(perInstance)).toBeGreaterThan(0);
    expect(Math.max(...perInstance) / Math.min(...perInstance), JSON.stringify(perInstance)).toBeLessThanOrEqual(SPREAD_BOUND);
    // 6. Fencing tokens strictly increase per job, slot after slot.
    for (let job = 0; job < JOBS; job++) {
      const bySlot = runs.filter((r) => r.job === job).sort((a, b) => a.slot - b.slot);
      for (let i = 1; i < bySlot.length; i++) expect(bySlot[i]!.token).toBeGreaterThan(bySlot[i - 1]!.token);
    }
  }, 20_000);

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

  it('4. a run whose lease is taken over is aborted with E_LOCK_LOST, its late outcome refused, and it runs again once reaped', async () => {
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
        // Another claim took the run over (its fencing token moved on), as after an expiry we did not see.
        expect(await admin.hincrby(`{${prefix}}:run:/guarded#${ctx.id}`, 'fence', 1)).toBe(ctx.fencingToken + 1);
        await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => (reasons.push(ctx.signal.reason), resolve())));
      },
    });
    await scheduler.start();
    await scheduler.trigger('guarded');
    await until('the run again', () => attempts >= 2);
    await until('history', () => false, 300).catch(() => undefined);
    expect(SchedkitError.is(reasons[0], 'E_LOCK_LOST')).toBe(true);
    // The first attempt's outcome came with a stale token: refused; its lease ran out and the reaper recovered it.
    const outcomes = (await scheduler.history('guarded')).map((h) => h.outcome);
    expect(outcomes).toEqual(['success', 'stalled']);
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

  it('9. a Redis outage stops runs, is logged once, and recovers with the misfire policy (run-once: of the missed slots only the latest runs)', async () => {
    const outage = await startRedis();
    const prefix = randomPrefix('outage');
    const url = outage.url;
    const make = (): Promise<Instance> => instance(prefix, {}, undefined, url);
    const instances = [await make(), await make()];
    const runs: number[] = [];
    const upAt: number[] = [];
    for (const { scheduler } of instances) {
      await scheduler.register({ name: 'tick', schedule: '* * * * * *', misfire: 'run-once', handler: (ctx) => void runs.push(ctx.scheduledAt.getTime()) });
      scheduler.on('backend:up', () => void upAt.push(Date.now()));
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
    const backAt = Date.now();
    await until('runs after the outage', () => runs.some((slot) => slot > backAt), 10_000);
    expect(runs.find((slot) => slot > backAt)! - backAt).toBeLessThanOrEqual(5_000);
    await wait(2_000);
    expect(new Set(runs).size).toBe(runs.length);
    for (const { logger } of instances) expect(logger.find('reachable again').length).toBeGreaterThanOrEqual(1);

    // run-once, exactly: the slots that came due while the instances were cut
    // off did not run, except the latest one at recovery, run once; then the
    // series goes on with no gap.
    const slots = [...runs].sort((a, b) => a - b);
    const lastBefore = Math.max(...slots.filter((slot) => slot <= downAt));
    const caughtUp = slots.find((slot) => slot > lastBefore)!;
    const recoveredBy = Math.max(...upAt);
    expect(upAt.length).toBeGreaterThanOrEqual(instances.length);
    // Planned when the instance saw the store back (slots after then are on
    // time), a moment after its backend:up: the re-sync's own round trips.
    const PLAN_MARGIN_MS = 500;
    expect(caughtUp, 'the catch-up is a slot of the outage, not a later one').toBeLessThanOrEqual(recoveredBy + PLAN_MARGIN_MS);
    expect(caughtUp, 'the catch-up is the latest slot missed, not an earlier one').toBeGreaterThan(Math.min(...upAt) - 1_000);
    const dropped = (caughtUp - lastBefore) / 1_000 - 1;
    expect(dropped, 'the outage (3 s and more) made slots that were not run').toBeGreaterThanOrEqual(2);
    // Each instance planned the slots it missed by the policy: one kept, the rest dropped.
    const plans = instances.flatMap(({ logger }) => logger.find('missed slots')).map((l) => l.fields);
    expect(plans.length).toBeGreaterThanOrEqual(1);
    for (const plan of plans) expect(plan, JSON.stringify(plans)).toMatchObject({ misfire: 'run-once', dropped: (plan.missed as number) - 1 });
    const after = slots.filter((slot) => slot >= caughtUp);
    for (let i = 1; i < after.length; i++) expect(after[i]! - after[i - 1]!, `gap after ${after[i - 1]!}`).toBe(1_000);
  });
});
