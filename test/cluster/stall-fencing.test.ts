import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomPrefix, startRedis, type RedisServer } from '../helpers/redis-server.js';
import { Instance, type Line } from '../soak/processes.js';
import type { InstanceSpec } from '../soak/instance.js';

// Issue 5, fault 4: an instance blocks its event loop (a busy loop in a
// handler) for longer than the lock TTL. Its lease runs out, another instance
// reaps the run as stalled and runs it again with a higher fencing token;
// when the stalled instance wakes up and writes anyway (a naive handler that
// ignores its signal), the resource — a Redis hash written by a Lua
// compare-on-fencing-token script — rejects the late write.

const LOCK_TTL_MS = 2_000;
const STALL_MS = 9_000;

let redis: RedisServer;
let client: Redis;
const instances: Instance[] = [];
beforeAll(async () => {
  redis = await startRedis();
  client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
});
afterAll(async () => {
  await Promise.all(instances.map((i) => i.kill()));
  client?.disconnect();
  await redis?.stop();
});

const all = (m: string, fields: Record<string, unknown> = {}): Line[] =>
  instances.flatMap((i) => i.lines.filter((l) => l.m === m && Object.entries(fields).every(([k, v]) => l[k] === v)));

describe('cluster: event-loop stall longer than the lock TTL', () => {
  it('another instance takes over with a higher fencing token and the stalled instance\'s late write is rejected', async () => {
    const prefix = randomPrefix('stall');
    const resource = `${prefix}:resource`;
    const spec = (id: string): InstanceSpec => ({
      instanceId: id,
      redisUrl: redis.url,
      prefix,
      config: { lockTtlMs: LOCK_TTL_MS, lockRefreshMs: 600, pollIntervalMs: 250, shutdownTimeoutMs: 2_000 },
      fenced: { key: resource, stallMs: STALL_MS, lockTtlMs: LOCK_TTL_MS },
    });
    instances.push(new Instance(spec('node-a'), undefined, true), new Instance(spec('node-b'), undefined, true));
    await Promise.all(instances.map((i) => i.waitFor('ready', 30_000, () => i.ready)));

    instances[0]!.send({ cmd: 'trigger', job: 'fenced', id: 'write-1' });
    const firstStart = (): Line | undefined => all('start', { id: 'write-1', a: 1 })[0];
    await Promise.race(instances.map((i) => i.waitFor('attempt 1 start', 20_000, () => firstStart() !== undefined)));
    const stalled = instances.find((i) => i.id === firstStart()!.i)!;
    const taker = instances.find((i) => i !== stalled)!;

    // The taker reaps the lease that ran out and runs attempt 2 — while the other is still stalled.
    await taker.waitFor('the takeover write', 20_000, () => all('wrote', { id: 'write-1', a: 2 }).length > 0);
    // The stalled instance wakes and writes with its old token: refused.
    await stalled.waitFor('the late write', 20_000, () => all('wrote', { id: 'write-1', a: 1 }).length > 0);

    const first = firstStart()!;
    const takeover = all('wrote', { id: 'write-1', a: 2 })[0]!;
    const late = all('wrote', { id: 'write-1', a: 1 })[0]!;
    const stallOver = all('stall-over', { id: 'write-1' })[0]!;
    expect(takeover.i).toBe(taker.id);
    expect(takeover.accepted).toBe(true);
    expect(late.i).toBe(stalled.id);
    expect(late.accepted).toBe(false);
    expect(takeover.token as number).toBeGreaterThan(first.token as number);
    // The takeover happened during the stall, at least a TTL after the first start.
    expect(takeover.at as number).toBeLessThan(stallOver.at as number);
    expect((takeover.at as number) - (first.at as number)).toBeGreaterThanOrEqual(LOCK_TTL_MS);
    expect(all('stalled', { id: 'write-1' })[0]).toMatchObject({ dead: stalled.id, requeued: true });
    // The newer holder's write stands.
    expect(await client.hgetall(resource)).toEqual({ token: String(takeover.token), writer: taker.id });

    // Attempt 2 was recorded as the success; attempt 1 as lost its lock, not a success.
    await taker.waitFor('attempt 2 recorded', 10_000, () => all('ok', { id: 'write-1', a: 2 }).length > 0);
    await stalled.waitFor('attempt 1 settled', 10_000, () => all('fail', { id: 'write-1', a: 1 }).length + all('ok', { id: 'write-1', a: 1 }).length > 0);
    expect(all('ok', { id: 'write-1', a: 1 })).toEqual([]);
    expect(all('fail', { id: 'write-1', a: 1 })[0]).toMatchObject({ i: stalled.id, outcome: 'lock-lost' });
    expect(all('ok', { id: 'write-1' })).toHaveLength(1);
    const graceful = await Promise.all(instances.map((i) => i.stop(15_000)));
    expect(graceful).toEqual([true, true]);
  }, 90_000);
});
