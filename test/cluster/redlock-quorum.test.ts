import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomPrefix, startMasters, startRedis, type RedisServer } from '../helpers/redis-server.js';
import { duplicateSlots, elapse, Workers } from './workers.js';

let backend: RedisServer;
let masters: RedisServer[];
const workers = new Workers();
beforeAll(async () => {
  backend = await startRedis();
  masters = await startMasters(3);
});
afterAll(async () => {
  await workers.killAll();
  await Promise.all([backend?.stop(), ...(masters ?? []).map((m) => m.stop())]);
});

describe('cluster: Redlock over three masters', () => {
  it('keeps running with one master down, starts nothing with two down and says why, resumes when they return', async () => {
    const prefix = randomPrefix('quorum');
    const lockMasters = masters.map((m) => m.url);
    const jobs = [{ name: 'tick', schedule: '* * * * * *' }];
    const config = { pollIntervalMs: 500, lockRuns: true }; // runs locked on the quorum, not only leased in the backend
    await Promise.all(
      ['node-1', 'node-2'].map((instanceId) => workers.start({ instanceId, redisUrl: backend.url, lockMasters, prefix, jobs, config })),
    );
    await elapse(3_000);
    const before = workers.lines('start').length;
    expect(before).toBeGreaterThanOrEqual(2);

    await masters[0]!.kill();
    const oneDownAt = Date.now();
    await elapse(4_000);
    const withOneDown = workers.lines('start').filter((s) => (s.at as number) > oneDownAt + 500);
    expect(withOneDown.length).toBeGreaterThanOrEqual(2);

    await masters[1]!.kill();
    const twoDownAt = Date.now();
    await elapse(4_000);
    const withTwoDown = workers.lines('start').filter((s) => (s.at as number) > twoDownAt + 300);
    expect(withTwoDown).toEqual([]);
    const downs = workers.lines('backend').filter((l) => l.state === 'down');
    expect(downs.length).toBeGreaterThanOrEqual(1);
    expect(String(downs[0]!.error)).toMatch(/quorum/);
    for (const w of workers.all) expect(w.stderr.match(/unreachable: no run starts/g)?.length ?? 0).toBeLessThanOrEqual(1);

    masters[0] = await masters[0]!.restart();
    masters[1] = await masters[1]!.restart();
    const backAt = Date.now();
    await elapse(5_000);
    expect(workers.lines('start').filter((s) => (s.at as number) > backAt).length).toBeGreaterThanOrEqual(2);
    expect(workers.lines('backend').some((l) => l.state === 'up')).toBe(true);
    expect(duplicateSlots(workers.lines('start'))).toEqual([]);
    await workers.stopAll();
  }, 60_000);
});
