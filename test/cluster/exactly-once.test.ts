import { describe, expect, it } from 'vitest';
import { randomPrefix } from '../helpers/redis-server.js';
import { duplicateSlots, elapse, useCluster } from './workers.js';

const cluster = useCluster();
const { workers } = cluster;

describe('cluster: 4 instances, 50 jobs every second, 20 s', () => {
  it('runs every slot exactly once, never overlapping, on every instance', async () => {
    const prefix = randomPrefix('exactly-once');
    const jobs = [{ name: 'tick', count: 50, schedule: '* * * * * *', durationMs: 50 }];
    await Promise.all(
      [1, 2, 3, 4].map((i) => workers.start({ instanceId: `node-${i}`, redisUrl: cluster.redis.url, prefix, jobs })),
    );
    const from = Math.ceil(Date.now() / 1000) * 1000 + 2_000; // every instance up and known to the others
    await elapse(20_000);
    const to = Math.floor(Date.now() / 1000) * 1000 - 2_000; // slots that had time to run and finish
    await workers.stopAll();

    const starts = workers.lines('start').filter((s) => (s.slot as number) >= from && (s.slot as number) <= to);
    const ends = workers.lines('end');
    expect(duplicateSlots(starts)).toEqual([]);
    // 0 missed: every job has every slot of the window.
    const ran = new Set(starts.map((s) => `${String(s.job)}@${String(s.slot)}`));
    const missing: string[] = [];
    for (let i = 0; i < 50; i++) for (let slot = from; slot <= to; slot += 1000) if (!ran.has(`tick-${i}@${slot}`)) missing.push(`tick-${i}@${slot}`);
    expect(missing).toEqual([]);
    const expected = ((to - from) / 1000 + 1) * 50;
    expect(starts).toHaveLength(expected);
    // No overlap: within a job, a run ends before the next one starts.
    const byJob = new Map<string, Array<{ start: number; end: number }>>();
    for (const s of starts) {
      const end = ends.find((e) => e.job === s.job && e.slot === s.slot && e.instance === s.instance);
      expect(end, `run ${String(s.job)}@${String(s.slot)} ended`).toBeDefined();
      const list = byJob.get(s.job as string) ?? [];
      list.push({ start: s.at as number, end: end!.at as number });
      byJob.set(s.job as string, list);
    }
    for (const [job, runs] of byJob) {
      runs.sort((a, b) => a.start - b.start);
      for (let i = 1; i < runs.length; i++) expect(runs[i]!.start, `${job} overlaps`).toBeGreaterThanOrEqual(runs[i - 1]!.end);
    }
    // Every instance ran a share, and the shares are even: max/min at most
    // SPREAD_BOUND (the bound the cluster-throughput benchmark holds too).
    const SPREAD_BOUND = 1.5;
    const perInstance = new Map<string, number>();
    for (const s of starts) perInstance.set(s.instance as string, (perInstance.get(s.instance as string) ?? 0) + 1);
    expect([...perInstance.keys()].sort()).toEqual(['node-1', 'node-2', 'node-3', 'node-4']);
    const counts = [...perInstance.values()];
    expect(Math.max(...counts) / Math.min(...counts), JSON.stringify(counts)).toBeLessThanOrEqual(SPREAD_BOUND);
    // Nothing failed, and every worker stopped cleanly.
    expect(workers.lines('failure')).toEqual([]);
    for (const w of workers.all) expect((await w.exited).code).toBe(0);
  }, 60_000);
});
