import { describe, expect, it } from 'vitest';
import { jobKey } from '../../src/job/job-key.js';
import { jitterOffset } from '../../src/schedule/jitter.js';
import { randomPrefix } from '../helpers/redis-server.js';
import { duplicateSlots, elapse, useCluster } from './workers.js';

// Issue 12: schedule jitter is equal on every instance. Six jobs every 2 s
// with `jitterMs: 1500`, on 4 instances: each slot is claimed first by the
// instance ranked first for it, at the slot plus ITS offset. So a slot starts
// at slot + jitterOffset(job, slot) (what this process computes) only if that
// instance computed the same offset: an offset per instance (random, or
// seeded by the instance) would start most slots elsewhere in the 1.5 s, and
// no jitter would start them all within milliseconds of the slot.

const JITTER_MS = 1_500;
/** How late after its jittered instant a run may start: the claim, the run's lock, the handler (a loaded 2-core machine). */
const LATE_BOUND_MS = 400;
/** How early: every instance aligns to Redis's clock, on this same machine. */
const EARLY_BOUND_MS = 50;

const cluster = useCluster();
const { workers } = cluster;

describe('cluster: schedule jitter on 4 instances', () => {
  it('runs each slot once, at the slot plus the offset every instance computes', async () => {
    const prefix = randomPrefix('jitter');
    const jobs = [{ name: 'spread', count: 6, schedule: '*/2 * * * * *', jitterMs: JITTER_MS, durationMs: 20 }];
    await Promise.all([1, 2, 3, 4].map((i) => workers.start({ instanceId: `node-${i}`, redisUrl: cluster.redis.url, prefix, jobs })));
    const from = Math.ceil((Date.now() + 2_000) / 2_000) * 2_000; // every instance up and known to the others
    await elapse(16_000);
    const to = Math.floor((Date.now() - JITTER_MS - 1_000) / 2_000) * 2_000; // slots whose jittered start has passed
    await workers.stopAll();

    const starts = workers.lines('start').filter((s) => (s.slot as number) >= from && (s.slot as number) <= to);
    expect(duplicateSlots(starts)).toEqual([]);
    const expected: Array<{ job: string; slot: number; offset: number }> = [];
    for (let i = 0; i < 6; i++) {
      for (let slot = from; slot <= to; slot += 2_000) expected.push({ job: `spread-${i}`, slot, offset: jitterOffset(jobKey(`spread-${i}`), slot, JITTER_MS) });
    }
    expect(expected.length).toBeGreaterThanOrEqual(6 * 5);
    // The scenario tells jitter from none: many offsets are far from 0.
    expect(expected.filter((e) => e.offset >= 2 * LATE_BOUND_MS).length).toBeGreaterThanOrEqual(5);

    const wrong: string[] = [];
    for (const e of expected) {
      const run = starts.filter((s) => s.job === e.job && s.slot === e.slot);
      if (run.length !== 1) {
        wrong.push(`${e.job}@${e.slot}: ${run.length} runs`);
        continue;
      }
      const delay = (run[0]!.at as number) - e.slot;
      if (delay < e.offset - EARLY_BOUND_MS || delay > e.offset + LATE_BOUND_MS) {
        wrong.push(`${e.job}@${e.slot}: started ${delay} ms after the slot on ${String(run[0]!.instance)}, offset ${e.offset}`);
      }
    }
    expect(wrong).toEqual([]);
    // The slots were spread over the instances, so the offsets of several instances were put to the test.
    expect(new Set(starts.map((s) => s.instance)).size).toBeGreaterThan(1);
    for (const w of workers.all) expect((await w.exited).code).toBe(0);
  }, 80_000);
});
