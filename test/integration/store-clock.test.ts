import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { OffsetClock, SystemClock, type Clock } from '../../src/clock/clock.js';
import type { SchedulerConfigInput } from '../../src/config/config.js';
import type { InMemoryMetrics } from '../../src/observability/in-memory-metrics.js';
import type { RecordingLogger } from '../../src/observability/recording-logger.js';
import { wait } from '../helpers/fixtures.js';
import { SteppedClock } from '../helpers/stepped-clock.js';
import { randomPrefix, startRedis, type RedisServer } from '../helpers/redis-server.js';
import { redisInstance, type RedisInstance } from '../helpers/redis-scheduler.js';

/**
 * On Redis the store's clock is Redis `TIME` (this machine's clock), so the
 * instances get skewed clocks instead: every timestamp stored or compared
 * across instances must still be Redis time. The memory-backend twin of
 * these tests is test/unit/scheduler/store-clock.test.ts.
 */

const HOUR = 3_600_000;
/** Slack for "this is Redis time, not an hour off": generous against a loaded machine. */
const SLACK = 10_000;

let redis: RedisServer;
const open: Array<() => Promise<void>> = [];

beforeAll(async () => {
  redis = await startRedis();
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((close) => close()));
});
afterAll(async () => {
  await redis?.stop();
});

type Instance = RedisInstance<RecordingLogger, InMemoryMetrics>;

async function instance(prefix: string, clock: Clock, config: SchedulerConfigInput = {}): Promise<Instance> {
  const created = await redisInstance({ url: redis.url, prefix, config: { pollIntervalMs: 200, ...config }, clock });
  open.push(() => created.close());
  return created;
}

describe('timestamps on Redis time, not the instances\' clocks', () => {
  it('a later definition wins over an older one registered by an instance an hour ahead', async () => {
    const prefix = randomPrefix('defined');
    const ahead = await instance(prefix, new OffsetClock(new SystemClock(), HOUR));
    await ahead.scheduler.register({ name: 'report', schedule: '0 0 * * *', handler: () => undefined });
    await ahead.scheduler.start();
    await wait(20);

    const deployed = await instance(prefix, new SystemClock());
    await deployed.scheduler.register({ name: 'report', schedule: '0 12 * * *', handler: () => undefined });
    await deployed.scheduler.start();

    const stored = await deployed.backend.getJob('/report');
    expect(stored!.schedule).toMatchObject({ kind: 'cron', cron: '0 12 * * *' });
    expect(Math.abs(stored!.definedAt - Date.now())).toBeLessThan(SLACK);
    expect(deployed.logger.find('adopting its schedule')).toHaveLength(0);
  });

  /** One instance whose clock steps an hour (`stepMs`) after it aligned on Redis, with the job `name`. */
  async function stepped(name: string, stepMs: number, handler: () => void, retryDelayMs = 60_000): Promise<Instance> {
    const local = new SteppedClock(new SystemClock());
    const created = await instance(randomPrefix('stepped'), local);
    await created.scheduler.register({
      name,
      retry: { maxRetries: 1, strategy: 'fixed', initialDelayMs: retryDelayMs, maxDelayMs: retryDelayMs, jitter: 'none' },
      handler,
    });
    await created.scheduler.start();
    local.stepMs = stepMs;
    return created;
  }

  const recorded = { timeout: 10_000, interval: 50 };

  it('a retry is due its delay after the failure by Redis time', async () => {
    const { scheduler, backend } = await stepped('flaky', HOUR, () => {
      throw new Error('boom');
    });
    await scheduler.trigger('flaky', { at: new Date(Date.now()) });
    await vi.waitFor(async () => expect(await scheduler.history('flaky')).toHaveLength(1), recorded);
    const dueInMs = (await backend.nextDueAt())! - (await backend.time());
    expect(dueInMs).toBeGreaterThan(60_000 - SLACK);
    expect(dueInMs).toBeLessThanOrEqual(60_000);
  });

  it('a one-off run triggered for now is due at Redis time', async () => {
    const { scheduler } = await stepped('adhoc', HOUR, () => undefined);
    const run = await scheduler.trigger('adhoc');
    expect(Math.abs(run.dueAt.getTime() - Date.now())).toBeLessThan(SLACK);
    await vi.waitFor(async () => expect(await scheduler.history('adhoc')).toHaveLength(1), recorded);
  });

  it('history startedAt/finishedAt and lastRunAt are Redis time', async () => {
    const { scheduler } = await stepped('timed', -HOUR, () => undefined);
    await scheduler.trigger('timed', { at: new Date(Date.now()) });
    await vi.waitFor(async () => expect(await scheduler.history('timed')).toHaveLength(1), recorded);
    const [done] = await scheduler.history('timed');
    expect(done).toMatchObject({ outcome: 'success' });
    expect(Math.abs(done!.startedAt!.getTime() - Date.now())).toBeLessThan(SLACK);
    expect(Math.abs(done!.finishedAt!.getTime() - Date.now())).toBeLessThan(SLACK);
    const job = await scheduler.getJob('timed');
    expect(job!.lastRunAt!.getTime()).toBe(done!.startedAt!.getTime());
  });
});
