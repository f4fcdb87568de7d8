import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomPrefix, startRedis, type RedisServer } from '../helpers/redis-server.js';
import { Instance, type Line } from '../soak/processes.js';
import type { InstanceSpec } from '../soak/instance.js';

// Issue 5, fault 3, with real processes: one instance whose clock runs 5 s
// ahead, one 5 s behind (an injected OffsetClock) and one on time, sharing 20
// jobs every second. Redis runs on this machine, so Redis server time is the
// real clock: each instance prints the real time (`at`, not its own skewed
// clock) when a handler starts.

const JOBS = 20;
const WINDOW_S = 8;

let redis: RedisServer;
const instances: Instance[] = [];
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await Promise.all(instances.map((i) => i.kill()));
  await redis?.stop();
});

describe('cluster: instances with clocks 5 s ahead and 5 s behind', () => {
  it('run no slot twice, miss none, and start none before its slot by Redis server time', async () => {
    const prefix = randomPrefix('skew');
    const spec = (id: string, clockOffsetMs: number): InstanceSpec => ({
      instanceId: id,
      redisUrl: redis.url,
      prefix,
      clockOffsetMs,
      config: { shutdownTimeoutMs: 2_000 },
      recurring: { count: JOBS, schedule: '* * * * * *', durationMs: [0, 20] },
    });
    instances.push(
      new Instance(spec('ahead', 5_000), undefined, true),
      new Instance(spec('behind', -5_000), undefined, true),
      new Instance(spec('on-time', 0), undefined, true),
    );
    await Promise.all(instances.map((i) => i.waitFor('ready', 30_000, () => i.ready)));
    const from = Math.ceil(Date.now() / 1000) * 1000 + 2_000;
    const to = from + (WINDOW_S - 1) * 1000;
    const inWindow = (l: Line): boolean => (l.slot as number) >= from && (l.slot as number) <= to;
    const lines = (m: string): Line[] => instances.flatMap((i) => i.lines.filter((l) => l.m === m && inWindow(l)));
    const expected = JOBS * WINDOW_S;
    // Bounded wait for the window's slots to be recorded (or the deadline).
    await instances[2]!
      .waitFor('every slot of the window recorded', (WINDOW_S + 20) * 1000, () => new Set(lines('ok').map((l) => `${String(l.job)}@${String(l.slot)}`)).size >= expected)
      .catch(() => undefined);

    const starts = lines('start');
    const keys = starts.map((s) => `${String(s.job)}@${String(s.slot)}`);
    const duplicates = keys.filter((k, n) => keys.indexOf(k) !== n);
    expect(duplicates).toEqual([]);
    expect(new Set(lines('ok').map((l) => `${String(l.job)}@${String(l.slot)}`)).size).toBe(expected);
    const early = starts.filter((s) => (s.at as number) < (s.slot as number)).map((s) => `${String(s.job)}@${String(s.slot)} on ${s.i} at ${(s.at as number) - (s.slot as number)} ms`);
    expect(early).toEqual([]);
    // The skewed instances did take part (they were not just losing every claim).
    const ran = (id: string): number => starts.filter((s) => s.i === id).length;
    expect(ran('ahead')).toBeGreaterThan(0);
    expect(ran('behind')).toBeGreaterThan(0);
    expect(instances.flatMap((i) => i.lines.filter((l) => l.m === 'fail'))).toEqual([]);
    const graceful = await Promise.all(instances.map((i) => i.stop(15_000)));
    expect(graceful).toEqual([true, true, true]);
  }, 90_000);
});
