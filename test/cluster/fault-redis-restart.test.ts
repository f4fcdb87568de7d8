import { afterEach, describe, expect, it } from 'vitest';
import { randomPrefix, startRedis, type RedisServer } from '../helpers/redis-server.js';
import { duplicateSlots, elapse, stderrLogLines, waitFor, Workers } from './workers.js';

/**
 * SPEC §4.9 / §12, fault 1: the Redis server of a 4-instance app is stopped
 * (by pid) and started again on the same port, with its data kept (an
 * append-only file, as a Redis with persistence) or lost (no persistence:
 * it comes back empty). While it is down nothing runs and each instance logs
 * the outage once; when it is back, runs resume within 5 s and the slots
 * missed meanwhile follow each job's misfire policy.
 */

let redis: RedisServer | undefined;
let workers = new Workers();
afterEach(async () => {
  // FAULT_DEBUG=<file>: write every worker's lines and logs there (to read a failure).
  if (process.env.FAULT_DEBUG) {
    const { appendFileSync } = await import('node:fs');
    appendFileSync(process.env.FAULT_DEBUG, workers.all.map((w) => `== ${w.label}\n${w.lines.map((l) => JSON.stringify(l)).join('\n')}\n${w.stderr}`).join('\n'));
  }
  await workers.killAll();
  workers = new Workers();
  await redis?.stop();
  redis = undefined;
});

const EVERY_5 = '*/5 * * * * *';
const OUTAGE_LOG = 'backend or lock unreachable';

describe.each([
  { persist: true, data: 'kept' },
  { persist: false, data: 'lost' },
])('fault: Redis restarted under a 4-instance app, its data $data', ({ persist }) => {
  it('crashes nothing, logs the outage once per instance, resumes within 5 s, and applies the misfire policy', async () => {
    let server = await startRedis({ persist });
    redis = server;
    const prefix = randomPrefix('restart');
    const jobs = [
      { name: 'tick', schedule: '* * * * * *', misfire: 'skip' as const },
      { name: 'catch-once', schedule: EVERY_5, misfire: 'run-once' as const },
      { name: 'catch-none', schedule: EVERY_5, misfire: 'skip' as const },
      { name: 'catch-all', schedule: EVERY_5, misfire: 'run-all' as const },
    ];
    const config = { pollIntervalMs: 500 };
    await Promise.all([1, 2, 3, 4].map((i) => workers.start({ instanceId: `node-${i}`, redisUrl: server.url, prefix, config, jobs })));
    const readyAt = Date.now();

    // A */5 slot every instance has seen through: all three */5 jobs ran it and ended.
    const s0 = await waitFor('a */5 slot run by all three */5 jobs', 15_000, () => {
      const ended = workers.lines('end').filter((l) => (l.slot as number) > readyAt && String(l.job).startsWith('catch-'));
      const slots = [...new Set(ended.map((l) => l.slot as number))];
      return slots.find((slot) => ended.filter((l) => l.slot === slot).length === 3);
    });
    // Half a second after it (its finish is recorded, the next tick is 0.5 s away), Redis goes down.
    await elapse(Math.max(0, s0 + 500 - Date.now()));
    await server.stop({ keepData: true });
    const downAt = Date.now();
    // Down across the next two */5 slots; back 300 ms after the second one.
    await elapse(Math.max(0, s0 + 10_300 - Date.now()));
    const runsWhileDown = workers.lines('start').filter((l) => (l.at as number) > downAt + 100);
    expect(runsWhileDown).toEqual([]);
    server = await server.restart();
    redis = server;
    const upAt = Date.now();
    const missed = [s0 + 5_000, s0 + 10_000];
    const s3 = s0 + 15_000;

    // Runs resume within 5 s of Redis coming back.
    const firstTick = await waitFor('a tick after Redis came back', 10_000, () =>
      workers.lines('start').find((l) => l.job === 'tick' && (l.slot as number) >= upAt),
    );
    expect((firstTick.at as number) - upAt).toBeLessThanOrEqual(5_000);
    // The */5 slot after the outage runs on time for every job, then a little more ticking.
    await waitFor('slot s3 of every */5 job', 10_000, () => workers.lines('end').filter((l) => l.slot === s3 && String(l.job).startsWith('catch-')).length === 3 || undefined);
    await elapse(1_500);

    // No instance crashed: all alive, and each stops cleanly.
    for (const w of workers.all) expect(w.alive, `${w.label} alive`).toBe(true);
    await workers.stopAll();
    for (const w of workers.all) expect((await w.exited).code, `${w.label} exit code`).toBe(0);

    const starts = workers.lines('start');
    expect(duplicateSlots(starts)).toEqual([]);
    const slotsOf = (job: string): number[] =>
      starts
        .filter((l) => l.job === job && (l.slot as number) > s0 && (l.slot as number) < s3)
        .map((l) => l.slot as number)
        .sort((a, b) => a - b);
    // run-once: one catch-up, the newest missed slot; skip: none; run-all: each missed slot.
    expect(slotsOf('catch-once')).toEqual([missed[1]]);
    expect(slotsOf('catch-none')).toEqual([]);
    expect(slotsOf('catch-all')).toEqual(missed);
    // Catch-ups run after Redis is back, not before.
    for (const l of starts.filter((s) => (s.slot as number) > s0 && (s.slot as number) < upAt)) expect(l.at as number).toBeGreaterThanOrEqual(upAt);

    // The outage is logged once per instance, not once per tick.
    for (const w of workers.all) {
      const backend = w.find('backend');
      expect(backend.map((l) => l.state), `${w.label} backend events`).toEqual(['down', 'up']);
      expect(countLines(w.stderr, OUTAGE_LOG), `${w.label} outage log lines`).toBe(1);
      const errors = stderrLogLines(w.stderr).filter((l) => l.level === 'error' || l.level === 'warn');
      expect(errors.length, `${w.label} warn/error lines: ${errors.map((e) => e.message).join(' | ')}`).toBeLessThanOrEqual(2);
    }
  }, 60_000);
});

function countLines(stderr: string, text: string): number {
  return stderrLogLines(stderr).filter((l) => l.message.includes(text)).length;
}
