import { describe, expect, it } from 'vitest';
import { randomPrefix } from '../helpers/redis-server.js';
import { duplicateSlots, elapse, useCluster } from './workers.js';

const cluster = useCluster();
const { workers } = cluster;

describe('cluster: a rolling deploy that changes a schedule', () => {
  it('adopts the newest definition everywhere, logs the change once, and never runs a slot twice', async () => {
    const prefix = randomPrefix('rolling');
    const v1 = [{ name: 'report', schedule: '*/2 * * * * *' }];
    const v2 = [{ name: 'report', schedule: '*/3 * * * * *' }];
    const old = await Promise.all(
      [1, 2, 3].map((i) => workers.start({ instanceId: `v1-${i}`, redisUrl: cluster.redis.url, prefix, jobs: v1 })),
    );
    await elapse(4_000);
    let firstNewAt = 0;
    for (let i = 0; i < 3; i++) {
      old[i]!.signal('SIGTERM');
      await old[i]!.waitForExit(15_000);
      await workers.start({ instanceId: `v2-${i + 1}`, redisUrl: cluster.redis.url, prefix, jobs: v2 });
      if (i === 0) firstNewAt = Date.now();
      await elapse(3_000);
    }
    // Long enough that the window below holds at least five */3 slots (it is
    // at least 3 + 3 + 3 + 9 - 2 = 16 s; with 6 s here it could hold four).
    await elapse(9_000);
    const stoppedAt = Date.now();
    await workers.stopAll();

    const starts = workers.lines('start');
    expect(duplicateSlots(starts)).toEqual([]);
    // Once a new instance stored the new definition, every instance runs it:
    // every */3 slot from then on ran once, and nothing else ran.
    const from = Math.ceil((firstNewAt + 1_000) / 1_000) * 1_000;
    const to = stoppedAt - 1_000;
    const ran = starts.map((s) => s.slot as number).filter((slot) => slot >= from && slot <= to).sort((a, b) => a - b);
    const expected: number[] = [];
    for (let t = from; t <= to; t += 1_000) if (new Date(t).getUTCSeconds() % 3 === 0) expected.push(t);
    expect(expected.length).toBeGreaterThanOrEqual(5);
    expect(ran).toEqual(expected);
    // Stored once by the first new instance; the later ones found it stored.
    const changeLines = workers.all.map((w) => (w.stderr.match(/job definition changed/g) ?? []).length);
    expect(changeLines.reduce((a, b) => a + b, 0)).toBe(1);
  }, 60_000);
});
