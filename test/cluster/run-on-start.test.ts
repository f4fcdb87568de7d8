import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SchedulerClient } from 'schedkit';
import { randomPrefix, startRedis, type RedisServer } from '../helpers/redis-server.js';
import { elapse, openClient, waitFor, Workers } from './workers.js';
import type { WorkerSpec } from './worker.js';

// Issue 12: run on start runs once per fleet. Four instances start together,
// each registering (and so storing) the same two jobs with `runOnStart`; a
// fifth joins later, as a deploy would. One `on-start` run per job in all:
// none if the run is not made, four or five if each instance makes its own.

let redis: RedisServer;
let client: SchedulerClient | undefined;
let closeClient: () => Promise<void> = async () => undefined;
const workers = new Workers();
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await workers.killAll();
  await closeClient();
  await redis?.stop();
});

describe('cluster: run on start, 4 instances starting at once', () => {
  it('runs each job once with id on-start, and not again when an instance joins later', async () => {
    const prefix = randomPrefix('on-start');
    const jobs = [
      { name: 'warmup', runOnStart: true, durationMs: 100 },
      { name: 'hourly', schedule: '0 * * * *', runOnStart: true, durationMs: 100 },
    ];
    const spec = (i: number): WorkerSpec => ({ instanceId: `node-${i}`, redisUrl: redis.url, prefix, jobs });
    await Promise.all([1, 2, 3, 4].map((i) => workers.start(spec(i))));
    const onStartEnds = (job: string): number => workers.lines('end').filter((e) => e.job === job && e.id === 'on-start').length;
    await waitFor('both on-start runs ended', 20_000, () => (onStartEnds('warmup') > 0 && onStartEnds('hourly') > 0 ? true : undefined));
    await elapse(2_000); // room for another instance's on-start run
    await workers.start(spec(5));
    await elapse(3_000);
    await workers.stopAll();

    for (const job of ['warmup', 'hourly']) {
      const starts = workers.lines('start').filter((s) => s.job === job && s.id === 'on-start');
      expect(starts, job).toHaveLength(1);
      expect(starts[0]!.attempt).toBe(1);
    }
    // Recorded as such in history: one entry, id on-start, a one-off run that succeeded.
    ({ client, close: closeClient } = await openClient(redis.url, prefix));
    for (const job of ['warmup', 'hourly']) {
      const entries = (await client.history(job, { limit: 100 })).filter((h) => h.id === 'on-start');
      expect(entries, job).toEqual([expect.objectContaining({ kind: 'trigger', outcome: 'success', attempt: 1 })]);
    }
    for (const w of workers.all) expect((await w.exited).code).toBe(0);
  }, 80_000);
});
