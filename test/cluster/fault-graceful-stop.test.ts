import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisBackend } from '../../src/backend/redis/redis-backend.js';
import { jobKey } from '../../src/job/job-key.js';
import type { LogLine } from '../helpers/node-process.js';
import { randomPrefix, startRedis, type RedisServer } from '../helpers/redis-server.js';
import { elapse, Workers } from './workers.js';

/**
 * SPEC §6 (stop) / §12, fault 5: SIGTERM to an instance while 10 one-off
 * runs are in flight on it and 4 more wait in Redis. Runs that can finish
 * within `shutdownTimeoutMs` finish there; the rest are aborted with
 * E_SHUTDOWN at `shutdownTimeoutMs`, go back to Redis and run on another
 * instance. A ledger of every trigger id shows each completed exactly once.
 */

let redis: RedisServer;
const workers = new Workers();
const closers: Array<() => Promise<void>> = [];
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  // FAULT_DEBUG=<file>: write every worker's lines and logs there (to read a failure).
  if (process.env.FAULT_DEBUG) {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(process.env.FAULT_DEBUG, workers.all.map((w) => `== ${w.label}\n${w.lines.map((l) => JSON.stringify(l)).join('\n')}\n${w.stderr}`).join('\n'));
  }
  await workers.killAll();
  for (const close of closers.splice(0)) await close();
  await redis?.stop();
});

const SHUTDOWN_TIMEOUT_MS = 3_000;
const QUICK = ['q-0', 'q-1', 'q-2', 'q-3', 'q-4']; // finish within shutdownTimeoutMs
const SLOW = ['s-0', 's-1', 's-2', 's-3', 's-4']; // would outlive it: aborted, handed back
const WAITING = ['w-0', 'w-1', 'w-2', 'w-3']; // triggered too, but the instance is full (maxConcurrent 10)

describe('fault: graceful stop (SIGTERM) of an instance with 10 runs in flight', () => {
  it('finishes what it can, aborts the rest at shutdownTimeoutMs and hands them back; every one-off completes exactly once', async () => {
    const prefix = randomPrefix('drain');
    const config = { maxConcurrent: 10, shutdownTimeoutMs: SHUTDOWN_TIMEOUT_MS, stopTimeoutMs: 10_000, pollIntervalMs: 250 };
    const triggers = [
      ...QUICK.map((id) => ({ job: 'quick', id })),
      ...SLOW.map((id) => ({ job: 'slow', id })),
      ...WAITING.map((id) => ({ job: 'quick', id })),
    ];
    const victim = await workers.start({
      instanceId: 'victim',
      redisUrl: redis.url,
      prefix,
      config,
      jobs: [
        { name: 'quick', durationMs: 1_500 },
        { name: 'slow', durationMs: 60_000 },
      ],
      triggers,
    });
    await victim.waitUntil('10 runs in flight', 10_000, () => victim.find('start').length >= 10);
    victim.signal('SIGTERM');
    const termAt = Date.now();
    // The survivors come up while it drains; they run the same jobs (slow is quick there).
    const survivorJobs = [
      { name: 'quick', durationMs: 300 },
      { name: 'slow', durationMs: 300 },
    ];
    await Promise.all(
      ['survivor-1', 'survivor-2'].map((instanceId) => workers.start({ instanceId, redisUrl: redis.url, prefix, config, jobs: survivorJobs })),
    );
    const exit = await victim.waitForExit(15_000);
    const exitedAt = Date.now();
    expect(exit.code).toBe(0);

    const all = [...QUICK, ...SLOW, ...WAITING];
    const survivors = workers.all.filter((w) => w !== victim);
    const deadline = Date.now() + 20_000;
    while (!all.every((id) => workers.lines('end').some((l) => l.id === id))) {
      if (Date.now() > deadline) throw new Error(`not every one-off ended within 20 s: ${JSON.stringify(workers.lines('end').map((l) => l.id))}`);
      await elapse(20);
    }
    await elapse(500); // lines of anything that would wrongly run twice

    // On the victim: exactly the 10 first runs started (the 4 others waited in Redis) ...
    const victimStarts = victim.find('start');
    expect(victimStarts.map((l) => l.id).sort()).toEqual([...QUICK, ...SLOW].sort());
    // ... the quick ones finished there, before shutdownTimeoutMs ...
    for (const id of QUICK) {
      const end = victim.find('end', { id });
      expect(end, `${id} ended on the victim`).toHaveLength(1);
      expect(end[0]!.at as number).toBeLessThan(termAt + SHUTDOWN_TIMEOUT_MS);
    }
    // ... and the slow ones were aborted with E_SHUTDOWN at shutdownTimeoutMs, not before.
    const aborts = victim.find('abort');
    expect(aborts.map((l) => l.id).sort()).toEqual([...SLOW].sort());
    for (const a of aborts) {
      expect(a.code).toBe('E_SHUTDOWN');
      expect(a.at as number).toBeGreaterThanOrEqual(termAt + SHUTDOWN_TIMEOUT_MS - 100);
      expect(a.at as number).toBeLessThanOrEqual(termAt + SHUTDOWN_TIMEOUT_MS + 2_000);
    }
    expect(exitedAt - termAt).toBeLessThan(SHUTDOWN_TIMEOUT_MS + 8_000);
    // The slow and the waiting runs ran on the survivors, each after the victim let go of it.
    const abortAt = new Map(aborts.map((a) => [a.id, a.at as number]));
    for (const id of [...SLOW, ...WAITING]) {
      const starts = survivors.flatMap((w) => w.find('start', { id }));
      expect(starts, `${id} started once on a survivor`).toHaveLength(1);
      if (abortAt.has(id)) expect(starts[0]!.at as number).toBeGreaterThanOrEqual(abortAt.get(id)!);
    }

    // The ledger: every trigger id completed exactly once across all instances.
    const ends = workers.lines('end');
    const completed = new Map<string, LogLine[]>();
    for (const e of ends) completed.set(String(e.id), [...(completed.get(String(e.id)) ?? []), e]);
    expect([...completed.keys()].sort()).toEqual([...all].sort());
    for (const id of all) expect(completed.get(id), id).toHaveLength(1);
    expect(workers.lines('failure').filter((f) => f.outcome !== 'interrupted')).toEqual([]);

    // And so says the history in Redis: one success per id; the slow ones were interrupted first.
    const backend = new RedisBackend({ connection: { url: redis.url }, prefix });
    await backend.connect();
    closers.push(() => backend.close());
    const history = [...(await backend.history(jobKey('quick'), 100)), ...(await backend.history(jobKey('slow'), 100))];
    for (const id of all) {
      const outcomes = history.filter((h) => h.id === id).map((h) => h.outcome);
      expect(outcomes.filter((o) => o === 'success'), `${id}: ${outcomes.join(',')}`).toHaveLength(1);
      expect(outcomes.filter((o) => o !== 'success' && o !== 'interrupted'), `${id}: ${outcomes.join(',')}`).toEqual([]);
      if (SLOW.includes(id)) expect(outcomes, id).toContain('interrupted');
    }

    for (const w of survivors) expect(w.alive, `${w.label} alive`).toBe(true);
    await workers.stopAll();
    for (const w of survivors) expect((await w.exited).code, `${w.label} exit code`).toBe(0);
  }, 60_000);
});
