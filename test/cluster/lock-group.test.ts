import { describe, expect, it } from 'vitest';
import { randomPrefix } from '../helpers/redis-server.js';
import { duplicateSlots, elapse, runSpans, useCluster, type RunSpan } from './workers.js';

// Issue 12: a lock group is exclusive across 4 processes. Three jobs share
// `lockKey: 'tenant-acme'` and fire at the same second, each working 200 ms:
// with a lock per job (the feature broken) the three runs of a slot start
// together — usually on different instances — and overlap. A fourth job on
// the same slots without the key shows that overlap is what those slots
// produce when nothing holds them apart.

const cluster = useCluster();
const { workers } = cluster;

const overlapping = (a: RunSpan, b: RunSpan): boolean => a.start < b.end && b.start < a.end;

describe('cluster: a lock group across 4 instances', () => {
  it('never runs two jobs of the group at once, on any instance, and runs every slot of each', async () => {
    const prefix = randomPrefix('lock-group');
    const jobs = [
      { name: 'acme', count: 3, schedule: '* * * * * *', durationMs: 200, lockKey: 'tenant-acme' },
      { name: 'solo', schedule: '* * * * * *', durationMs: 200 },
    ];
    await Promise.all([1, 2, 3, 4].map((i) => workers.start({ instanceId: `node-${i}`, redisUrl: cluster.redis.url, prefix, jobs })));
    const from = Math.ceil(Date.now() / 1000) * 1000 + 2_000; // every instance up and known to the others
    await elapse(14_000);
    // Slots whose three serialized runs (600 ms, plus lock hand-overs) had time to end.
    const to = Math.floor(Date.now() / 1000) * 1000 - 3_000;
    await workers.stopAll();

    const starts = workers.lines('start');
    expect(duplicateSlots(starts)).toEqual([]);
    const spans = runSpans(starts, workers.lines('end'));
    const group = spans.filter((s) => s.job.startsWith('acme-')).sort((a, b) => a.start - b.start);
    // Exclusive: each group run starts after the previous one (by start) ended.
    for (let i = 1; i < group.length; i++) {
      const [before, after] = [group[i - 1]!, group[i]!];
      expect(after.start, `${after.job}@${after.slot} (${after.instance}) overlaps ${before.job}@${before.slot} (${before.instance})`).toBeGreaterThanOrEqual(before.end);
    }
    // Every job of the group ran every slot of the window (the group serializes, it starves no one).
    const ran = new Set(group.map((s) => `${s.job}@${s.slot}`));
    const missing: string[] = [];
    for (const job of ['acme-0', 'acme-1', 'acme-2']) for (let slot = from; slot <= to; slot += 1000) if (!ran.has(`${job}@${slot}`)) missing.push(`${job}@${slot}`);
    expect(to - from).toBeGreaterThanOrEqual(6_000);
    expect(missing).toEqual([]);
    // The exclusion crossed processes: some slot's group runs ran on different instances.
    const instancesPerSlot = new Map<number, Set<string>>();
    for (const s of group) instancesPerSlot.set(s.slot, (instancesPerSlot.get(s.slot) ?? new Set()).add(s.instance));
    expect([...instancesPerSlot.values()].some((set) => set.size > 1)).toBe(true);
    // Without the group, the same slots overlap: the control job ran alongside group runs.
    const solo = spans.filter((s) => s.job === 'solo');
    expect(solo.some((s) => group.some((g) => overlapping(s, g)))).toBe(true);
    for (const w of workers.all) expect((await w.exited).code).toBe(0);
  }, 80_000);
});
