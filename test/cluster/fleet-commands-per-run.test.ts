/**
 * The Redis work of a run, held to the published figure: the cluster
 * benchmark's workload (1,000 jobs every second, instance processes on one
 * Redis) at 1 and 4 instances, with Redis commands executed per run (INFO
 * commandstats, commands inside scripts included) within 15 % of what
 * benchmarks/results/cluster-throughput.json publishes. A change that adds
 * Redis work per run, or makes it grow with the number of instances, fails
 * here rather than in the next benchmark run.
 */
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Fleet, type Plan, type Row } from '../../benchmarks/suites/cluster/fleet.js';
import { startRedis, type RedisServer } from '../helpers/redis-server.js';

const PUBLISHED = new URL('../../benchmarks/results/cluster-throughput.json', import.meta.url);
const TOLERANCE = 0.15;

function publishedExecutedPerRun(instances: number): number {
  const result = JSON.parse(readFileSync(PUBLISHED, 'utf8')) as { data: { sizes: Row[] } };
  const row = result.data.sizes.find((r) => r.system === 'schedkit' && r.instances === instances);
  if (row === undefined) throw new Error(`no published schedkit row for ${instances} instance(s) in ${PUBLISHED.pathname}`);
  return row.executedPerRun;
}

let server: RedisServer;
let admin: Redis;
beforeAll(async () => {
  server = await startRedis();
  admin = new Redis(server.url, { maxRetriesPerRequest: 1 });
});
afterAll(async () => {
  admin?.disconnect();
  await server?.stop();
});

describe('Redis commands per run', () => {
  it('at 1 and 4 instances stay within 15 % of the published figure, with no duplicate and no missed slot', async () => {
    const plan: Plan = { jobs: 1000, concurrency: 100, warmupMs: 2_000, warmupManyMs: 4_000, windowMs: 5_000, graceMs: 1_000 };
    const fleet = new Fleet('schedkit', plan, server);
    let rows: Row[];
    try {
      await fleet.measure(1, admin);
      await fleet.measure(4, admin);
      rows = await fleet.finish();
    } finally {
      await fleet.kill();
    }
    for (const row of rows) {
      const published = publishedExecutedPerRun(row.instances);
      expect.soft(row.duplicatesTotal, `${row.instances} instance(s): duplicates`).toBe(0);
      expect.soft(row.missed, `${row.instances} instance(s): missed`).toBe(0);
      expect.soft(
        Math.abs(row.executedPerRun / published - 1),
        `${row.instances} instance(s): ${row.executedPerRun.toFixed(2)} commands per run, published ${published.toFixed(2)}`,
      ).toBeLessThanOrEqual(TOLERANCE);
    }
  }, 120_000);
});
