import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NoopLogger } from '../../src/observability/logger.js';
import { NoopMetrics } from '../../src/observability/metrics.js';
import { randomPrefix, startRedis, type RedisServer } from '../helpers/redis-server.js';
import { redisInstance } from '../helpers/redis-scheduler.js';

let redis: RedisServer;
let admin: Redis;
beforeAll(async () => {
  redis = await startRedis();
  admin = new Redis({ host: redis.host, port: redis.port });
});
afterAll(async () => {
  admin?.disconnect();
  await redis?.stop();
});

/** Total calls per command name, from INFO commandstats. */
async function commandCalls(): Promise<Map<string, number>> {
  const info = await admin.info('commandstats');
  const calls = new Map<string, number>();
  for (const match of info.matchAll(/^cmdstat_(\S+):calls=(\d+)/gm)) calls.set(match[1]!, Number(match[2]));
  return calls;
}

async function measure(jobs: number, schedule: string, ms: number): Promise<{ runs: number; evalsha: number; total: number; byCommand: Record<string, number> }> {
  const { scheduler, close } = await redisInstance({
    url: redis.url,
    prefix: randomPrefix('cost'),
    config: { maxConcurrent: MAX_CONCURRENT },
    logger: new NoopLogger(),
    metrics: new NoopMetrics(),
  });
  let runs = 0;
  for (let i = 0; i < jobs; i++) await scheduler.register({ name: `job-${i}`, schedule, handler: () => void runs++ });
  await scheduler.start();
  await new Promise((resolve) => setTimeout(resolve, 1_500)); // scripts loaded, steady state
  const before = await commandCalls();
  const runsBefore = runs;
  await new Promise((resolve) => setTimeout(resolve, ms));
  const after = await commandCalls();
  const runsDuring = runs - runsBefore;
  await close();
  const byCommand: Record<string, number> = {};
  for (const [name, calls] of after) {
    const diff = calls - (before.get(name) ?? 0);
    if (diff > 0 && name !== 'info') byCommand[name] = diff;
  }
  const total = Object.values(byCommand).reduce((a, b) => a + b, 0);
  return { runs: runsDuring, evalsha: (byCommand.evalsha ?? 0) + (byCommand.eval ?? 0), total, byCommand };
}

/** The default, stated: it sets how many runs of one wake share a claim call and an outcome call. */
const MAX_CONCURRENT = 10;
const JOBS = 50;

/**
 * Commands sent per run, from the design: a run takes no lock of its own
 * (its claim is its lease) and a short one needs no lease refresh, so all
 * it sends is its share of the batched calls. Claims and outcomes are
 * batched per turn of the event loop (CallBatcher): the 50 slots of one
 * wake are claimed as permits allow, `MAX_CONCURRENT` at a time, and the
 * runs of one such wave end together, so each wave costs one claim call and
 * one outcome call, shared by its runs. Polls and heartbeats are what an
 * idle instance sends too, and are subtracted.
 */
const WAVES_PER_WAKE = Math.ceil(JOBS / MAX_CONCURRENT);
const EXPECTED_SENT_PER_RUN = (2 * WAVES_PER_WAKE) / JOBS; // 0.2
/** A regression of the cost by more than this fails the test. */
const TOLERANCE = 0.15;

describe('cost of a run on Redis', () => {
  it(`a short scheduled run sends ${EXPECTED_SENT_PER_RUN} commands (its share of one claim and one outcome call per ${MAX_CONCURRENT} runs), within 15 %`, async () => {
    // What an instance sends when nothing is due (polls, heartbeats), to subtract.
    const idle = await measure(1, '0 0 1 1 *', 4_000);
    const busy = await measure(JOBS, '* * * * * *', 4_000);
    const sentPerRun = (busy.evalsha - idle.evalsha) / busy.runs;
    const executedPerRun = (busy.total - idle.total) / busy.runs;
    console.log(
      `idle ${JSON.stringify(idle.byCommand)}; busy: ${busy.runs} runs, ${busy.evalsha} scripts sent; ` +
        `per run ${sentPerRun.toFixed(2)} commands sent (expected ${EXPECTED_SENT_PER_RUN}), ${executedPerRun.toFixed(1)} executed by Redis (scripts included)`,
    );
    expect(busy.runs).toBeGreaterThanOrEqual(150);
    expect(sentPerRun).toBeGreaterThanOrEqual(EXPECTED_SENT_PER_RUN * (1 - TOLERANCE));
    expect(sentPerRun).toBeLessThanOrEqual(EXPECTED_SENT_PER_RUN * (1 + TOLERANCE));
  }, 30_000);
});
