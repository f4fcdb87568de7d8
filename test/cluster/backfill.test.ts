import { describe, expect, it } from 'vitest';
import { randomPrefix } from '../helpers/redis-server.js';
import { elapse, useCluster, waitFor } from './workers.js';
import type { WorkerSpec } from './worker.js';

// Issue 12: backfill is idempotent. Three instances backfill the same 20
// minute slots at the same instant, and a fourth backfills them again once
// they have run: each slot runs once. Were backfill not idempotent across
// processes (each call enqueuing its own runs), the slots would run three or
// four times; were it not idempotent over time, the fourth call would run
// them again.

const MINUTE = 60_000;
const SLOTS = 20;

const cluster = useCluster();
const { workers } = cluster;

describe('cluster: backfill from 4 instances', () => {
  it('runs each slot of the range once, however many instances call it and however often', async () => {
    const prefix = randomPrefix('backfill');
    // Every minute; the range is long before the job existed, so no slot of it has run.
    const jobs = [{ name: 'ledger', schedule: '* * * * *', durationMs: 20 }];
    const from = Math.floor(Date.now() / MINUTE) * MINUTE - 40 * MINUTE;
    const to = from + (SLOTS - 1) * MINUTE;
    // Late enough that every instance is up (started in parallel, each takes a few seconds).
    const together = Date.now() + 15_000;
    const again = together + 6_000;
    const spec = (i: number, atMs: number): WorkerSpec => ({
      instanceId: `node-${i}`,
      redisUrl: cluster.redis.url,
      prefix,
      jobs,
      backfills: [{ job: 'ledger', from, to, atMs }],
    });
    await Promise.all([spec(1, together), spec(2, together), spec(3, together), spec(4, again)].map((s) => workers.start(s)));
    expect(Date.now()).toBeLessThan(together); // the three calls below are simultaneous, not made as each came up

    const backfills = await waitFor('four backfill calls answered', 30_000, () => {
      const lines = workers.lines('backfill');
      return lines.length === 4 ? lines : undefined;
    });
    const backfillStarts = (): typeof backfills => workers.lines('start').filter((s) => String(s.id).startsWith('backfill-'));
    await waitFor('the backfilled slots ran', 20_000, () => (new Set(backfillStarts().map((s) => s.slot)).size >= SLOTS ? true : undefined));
    await elapse(2_000); // room for a duplicate run
    await workers.stopAll();

    const concurrent = backfills.filter((b) => b.instance !== 'node-4');
    const later = backfills.find((b) => b.instance === 'node-4')!;
    for (const b of backfills) expect(b.error, String(b.instance)).toBeUndefined();
    const calledAt = concurrent.map((b) => b.calledAt as number);
    expect(Math.max(...calledAt) - Math.min(...calledAt)).toBeLessThan(200);
    for (const b of concurrent) {
      expect(b.slots).toBe(SLOTS);
      expect((b.enqueued as number) + (b.existing as number)).toBe(SLOTS);
    }
    expect(concurrent.reduce((sum, b) => sum + (b.enqueued as number), 0)).toBe(SLOTS);
    expect(later).toMatchObject({ slots: SLOTS, enqueued: 0, existing: SLOTS });

    // Each slot ran once, as its own slot, under its backfill id.
    const starts = backfillStarts();
    const expected = Array.from({ length: SLOTS }, (_, i) => from + i * MINUTE);
    expect(starts.map((s) => s.slot as number).sort((a, b) => a - b)).toEqual(expected);
    for (const s of starts) expect(s.id).toBe(`backfill-${String(s.slot)}`);
    for (const w of workers.all) expect((await w.exited).code).toBe(0);
  }, 80_000);
});
