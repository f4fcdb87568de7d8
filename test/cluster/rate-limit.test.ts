import { describe, expect, it } from 'vitest';
import { randomPrefix } from '../helpers/redis-server.js';
import { duplicateSlots, elapse, mostInWindow, useCluster } from './workers.js';

// Issue 12: a rate limit is held across 4 processes within 5 % of `max`.
// Fourteen jobs every second share one key limited to 20 starts per 2 s:
// demand is 28 per window, so the limit is what decides. Without a limit
// shared by the instances (none, or one per instance) a window holds 28
// starts; a limit that starves (waits longer than the window needs) falls
// below 95 % of `max` per window over the run.

const MAX = 20;
const PER_MS = 2_000;
/**
 * The store counts a run when it is claimed; its handler starts after the
 * claim's reply and the run's lock, a few to some tens of milliseconds later
 * and not the same for every run. Here every job's slot falls on the same
 * instant, so a burst of claims at the end of one window may start its
 * handlers just inside the next. Windows of handler starts are therefore
 * `perMs` less this margin for that lag: without a limit shared by the
 * instances such a window still spans two bursts (28 starts), with it no
 * more than `max`.
 */
const START_LAG_MS = 250;
/** 5 % over `max`, as the promise says. */
const MOST_PER_WINDOW = Math.floor(MAX * 1.05);

const cluster = useCluster();
const { workers } = cluster;

describe('cluster: a rate limit shared by 4 instances', () => {
  it('starts at most max runs in any window, and reaches max over the run', async () => {
    const prefix = randomPrefix('rate-limit');
    const jobs = [{ name: 'post', count: 14, schedule: '* * * * * *', durationMs: 20, rateLimit: { key: 'platform-x', max: MAX, perMs: PER_MS } }];
    await Promise.all([1, 2, 3, 4].map((i) => workers.start({ instanceId: `node-${i}`, redisUrl: cluster.redis.url, prefix, jobs })));
    await elapse(22_000);
    const stoppedAt = Date.now();
    await workers.stopAll();

    const starts = workers.lines('start');
    if (process.env.DUMP_STARTS) (await import('node:fs')).writeFileSync(process.env.DUMP_STARTS, JSON.stringify([...starts, ...workers.lines('skipped')]));
    expect(duplicateSlots(starts)).toEqual([]);
    const instants = starts.map((s) => s.at as number).sort((a, b) => a - b);
    // Held: no window of perMs (less the claim-to-start lag) holds more than max (+5 %) starts, whichever instance started them.
    const busiest = mostInWindow(instants, PER_MS - START_LAG_MS);
    expect(busiest.count, `busiest window from ${new Date(busiest.from).toISOString()}`).toBeLessThanOrEqual(MOST_PER_WINDOW);
    // Reached: once the backlog builds (after the first window), whole windows
    // up to the stop average at least 95 % of max. Every slot falls on a
    // second, so the runs start in bursts just after it: the windows begin
    // half a second before one, where no burst can straddle their edge.
    const first = instants[0]!;
    const from = first + PER_MS - 500;
    const windows = Math.floor((stoppedAt - 1_000 - from) / PER_MS);
    expect(windows).toBeGreaterThanOrEqual(6);
    const inRange = instants.filter((t) => t >= from && t < from + windows * PER_MS).length;
    expect(inRange / windows, `${inRange} starts in ${windows} windows of ${PER_MS} ms`).toBeGreaterThanOrEqual(MAX * 0.95);
    // Never lost silently: every slot of every job, from its first window to
    // the last seconds before the stop (slots then may still be waiting for
    // room), either started or was recorded skipped with reason rate-limited.
    const skipped = workers.lines('skipped');
    expect(skipped.filter((e) => e.reason !== 'rate-limited')).toEqual([]);
    const accounted = new Map<string, number>();
    for (const e of [...starts, ...skipped]) {
      const at = `${e.job as string}@${e.slot as number}`;
      accounted.set(at, (accounted.get(at) ?? 0) + 1);
    }
    const names = Array.from({ length: jobs[0]!.count }, (_, i) => `post-${i}`);
    const firstSlot = Math.max(...names.map((name) => Math.min(...starts.filter((e) => e.job === name).map((e) => e.slot as number))));
    const unaccounted: string[] = [];
    for (const name of names) {
      for (let slot = firstSlot + PER_MS; slot < stoppedAt - 3_000; slot += 1_000) {
        const seen = accounted.get(`${name}@${slot}`) ?? 0;
        if (seen !== 1) unaccounted.push(`${name}@${new Date(slot).toISOString()} seen ${seen} times`);
      }
    }
    expect(unaccounted).toEqual([]);
    expect(skipped.length, 'demand is 14 per second for 10 places: some slots are skipped').toBeGreaterThan(0);
    // Shared by the instances: more than one instance started runs.
    expect(new Set(starts.map((s) => s.instance)).size).toBeGreaterThan(1);
    expect(workers.lines('failure')).toEqual([]);
    for (const w of workers.all) expect((await w.exited).code).toBe(0);
  }, 80_000);
});
