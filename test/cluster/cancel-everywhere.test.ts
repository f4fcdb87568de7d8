import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SchedulerClient } from 'schedkit';
import { randomPrefix, startRedis, type RedisServer } from '../helpers/redis-server.js';
import { elapse, eventually, openClient, waitFor, Workers } from './workers.js';

// Issue 12: a cancel is seen by every instance within a second. Four workers
// run the jobs; the test process cancels through a SchedulerClient on the
// same Redis (it runs nothing itself), so every effect crosses processes.

let redis: RedisServer;
let client: SchedulerClient;
let closeClient: () => Promise<void> = async () => undefined;
const workers = new Workers();
const prefix = randomPrefix('cancel');
beforeAll(async () => {
  redis = await startRedis();
  const jobs = [
    // Trigger-only jobs. `post` is short; `export` works 30 s unless aborted,
    // and would be retried 100 ms after a failed attempt.
    { name: 'post', durationMs: 50 },
    { name: 'export', durationMs: 30_000, retry: { maxRetries: 3, initialDelayMs: 100, jitter: 'none' as const } },
  ];
  await Promise.all([1, 2, 3, 4].map((i) => workers.start({ instanceId: `node-${i}`, redisUrl: redis.url, prefix, jobs })));
  ({ client, close: closeClient } = await openClient(redis.url, prefix));
}, 60_000);
afterAll(async () => {
  await workers.killAll();
  await closeClient();
  await redis?.stop();
});

describe('cluster: cancel, seen by 4 instances within a second', () => {
  it('a pending run cancelled a second before it is due never starts anywhere; its uncancelled neighbours run', async () => {
    // Eight runs due together in 3 s; every instance learns of them and
    // queues their claims. Without the cancel reaching the store's claim
    // (or an instance running a run it queued before the cancel), the four
    // cancelled ones would start at the due time like the four controls.
    const dueAt = Date.now() + 3_000;
    const ids = Array.from({ length: 8 }, (_, i) => `post-${i}`);
    const cancelled = ids.slice(0, 4);
    const controls = ids.slice(4);
    await Promise.all(ids.map((id) => client.trigger('post', { id, at: new Date(dueAt) })));

    await elapse(dueAt - 1_000 - Date.now());
    const infos = await Promise.all(cancelled.map((id) => client.cancel(id)));
    // The cancels landed a second (give or take the calls) before the due time.
    expect(dueAt - Date.now()).toBeGreaterThan(500);
    for (const info of infos) expect(info).toMatchObject({ state: 'done', outcome: 'cancelled' });

    await waitFor('the control runs ended', 20_000, () =>
      controls.every((id) => workers.lines('end').some((e) => e.id === id)) ? true : undefined,
    );
    await elapse(1_500); // room for a cancelled run to start late, were it still claimable
    const starts = workers.lines('start');
    expect(starts.filter((s) => cancelled.includes(s.id as string))).toEqual([]);
    for (const id of controls) expect(starts.filter((s) => s.id === id), id).toHaveLength(1);

    // Cancelled in the store, once each, and a second cancel changes nothing.
    for (const id of cancelled) expect(await client.getRun(id)).toMatchObject({ state: 'done', outcome: 'cancelled' });
    const history = await client.history('post', { limit: 100 });
    for (const id of cancelled) {
      expect(history.filter((h) => h.id === id).map((h) => h.outcome), id).toEqual(['cancelled']);
    }
    await client.cancel(cancelled[0]!);
    expect((await client.history('post', { limit: 100 })).length).toBe(history.length);
  }, 60_000);

  it('cancel with abort stops the running handler on its instance within a second, records it, and never retries it', async () => {
    await client.trigger('export', { id: 'export-1' });
    const start = await waitFor('export-1 started', 20_000, () => workers.lines('start').find((s) => s.id === 'export-1'));

    // The handler would work 30 s: only the cancel, carried from this process
    // to the running instance, can abort its signal within the second.
    const cancelAt = Date.now();
    const info = await client.cancel('export-1', { abort: true });
    expect(info).toMatchObject({ state: 'running', cancelRequested: true });
    const abort = await waitFor('export-1 aborted', 5_000, () => workers.lines('abort').find((a) => a.id === 'export-1'));
    expect(abort.instance).toBe(start.instance);
    expect(abort.code).toBe('E_CANCELLED');
    expect((abort.at as number) - cancelAt).toBeLessThanOrEqual(1_000);

    const done = await eventually('export-1 finished', 10_000, async () => {
      const run = await client.getRun('export-1');
      return run?.state === 'done' ? run : undefined;
    });
    expect(done.outcome).toBe('cancelled');
    // A failed attempt would be retried 100 ms later: a cancelled one never is.
    await elapse(2_000);
    expect(workers.lines('start').filter((s) => s.id === 'export-1')).toHaveLength(1);
    const entries = (await client.history('export', { limit: 100 })).filter((h) => h.id === 'export-1');
    expect(entries.length).toBeGreaterThan(0);
    expect(entries.every((h) => h.outcome === 'cancelled' && h.attempt === 1), JSON.stringify(entries)).toBe(true);
    expect(workers.lines('cancelled').filter((c) => c.id === 'export-1')).toEqual([
      expect.objectContaining({ instance: start.instance, while: 'running' }),
    ]);
    expect(workers.lines('failure').filter((f) => f.id === 'export-1' && f.willRetry === true)).toEqual([]);

    await workers.stopAll();
    for (const w of workers.all) expect((await w.exited).code).toBe(0);
  }, 60_000);
});
