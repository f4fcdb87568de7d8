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

describe('cost of a run on Redis', () => {
  it('a short scheduled run sends 6 commands to Redis in 3 round trips (claim, lock + fence, finish + release + wake)', async () => {
    // What an instance sends when nothing is due (polls, heartbeats), to subtract.
    const idle = await measure(1, '0 0 1 1 *', 4_000);
    const busy = await measure(50, '* * * * * *', 4_000);
    const sentPerRun = (busy.evalsha - idle.evalsha) / busy.runs;
    const executedPerRun = (busy.total - idle.total) / busy.runs;
    console.log(
      `idle ${JSON.stringify(idle.byCommand)}; busy: ${busy.runs} runs, ${busy.evalsha} scripts sent; ` +
        `per run ${sentPerRun.toFixed(2)} commands sent, ${executedPerRun.toFixed(1)} executed by Redis (scripts included)`,
    );
    expect(busy.runs).toBeGreaterThanOrEqual(150);
    // claim-slots, lock-attempt + fence, finish-run, release, queue-wake: 6 (the odd extra poll rounds up).
    expect(sentPerRun).toBeLessThanOrEqual(6.2);
  }, 30_000);
});
