import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { HistoryEntry } from '../../src/backend/backend.js';
import { RedisBackend } from '../../src/backend/redis/redis-backend.js';
import { jobKey } from '../../src/job/job-key.js';
import type { LogLine } from '../helpers/node-process.js';
import { randomPrefix, startRedis, type RedisServer } from '../helpers/redis-server.js';
import { elapse, waitFor, Workers } from './workers.js';

/**
 * SPEC §4.4 / §12, fault 2: the Redis server is frozen (SIGSTOP) for longer
 * than the lock TTL while a run holds its lock, then thawed (SIGCONT). The
 * handler's signal aborts with E_LOCK_LOST; no second copy starts before the
 * first has seen the loss (both instants are Date.now() on this machine);
 * the run is recorded `lock-lost` and retried per the job's retry policy.
 * With one Redis for backend and lock, every run lease in it runs out during
 * the freeze too: the reapers must leave the run to its holder (the outage
 * grace of `Backend.heartbeatInstance`), and a freeze past the backend's
 * command timeout must show as one outage per instance.
 */

let redis: RedisServer;
let lockRedis: RedisServer;
let workers = new Workers();
const closers: Array<() => Promise<void>> = [];
beforeAll(async () => {
  [redis, lockRedis] = await Promise.all([startRedis(), startRedis()]);
});
afterEach(async () => {
  // FAULT_DEBUG=<file>: write every worker's lines and logs there (to read a failure).
  if (process.env.FAULT_DEBUG) {
    const { appendFileSync } = await import('node:fs');
    appendFileSync(process.env.FAULT_DEBUG, workers.all.map((w) => `== ${w.label}\n${w.lines.map((l) => JSON.stringify(l)).join('\n')}\n${w.stderr}`).join('\n'));
  }
  redis?.resume();
  lockRedis?.resume();
  await workers.killAll();
  workers = new Workers();
  for (const close of closers.splice(0)) await close();
});
afterAll(async () => {
  await Promise.all([redis?.stop(), lockRedis?.stop()]);
});

const LOCK_TTL_MS = 2_000;
const REFRESH_MS = 500;
const RETRY_DELAY_MS = 1_000;
const ID = 'export-7';

/**
 * Three instances; one triggers a long one-off run. Once its lock has been
 * refreshed, `frozen` is SIGSTOPped for TTL + 1.5 s, then SIGCONTed; the
 * retry (a short attempt) must complete.
 */
async function freezeDuringRun(frozen: RedisServer, options: { lockMasters?: string[]; backendCommandTimeoutMs?: number } = {}) {
  const prefix = randomPrefix('paused');
  // A lock on its own master guards runs only with lockRuns (else it guards lock groups alone).
  const config = { lockTtlMs: LOCK_TTL_MS, lockRefreshMs: REFRESH_MS, pollIntervalMs: 250, lockRuns: options.lockMasters !== undefined };
  const jobs = [
    {
      name: 'export',
      durationMs: 30_000, // the first attempt outlives the freeze (it stops when its signal aborts)
      retryDurationMs: 500,
      retry: { maxRetries: 2, strategy: 'fixed' as const, initialDelayMs: RETRY_DELAY_MS, jitter: 'none' as const },
    },
  ];
  const base = { redisUrl: redis.url, prefix, config, jobs, ...options };
  await Promise.all([
    workers.start({ ...base, instanceId: 'node-1', triggers: [{ job: 'export', id: ID }] }),
    workers.start({ ...base, instanceId: 'node-2' }),
    workers.start({ ...base, instanceId: 'node-3' }),
  ]);
  const first = await waitFor('the first attempt', 15_000, () => workers.lines('start').find((l) => l.id === ID && l.attempt === 1));
  const holder = workers.all.find((w) => w.label === first.instance)!;
  // Let one refresh go through, so the lock is held and healthy when Redis freezes.
  await elapse(REFRESH_MS + 200);

  frozen.pause();
  const frozenAt = Date.now();
  const abort = await holder.waitForLine('abort', { id: ID, attempt: 1 }, LOCK_TTL_MS + 3_000);
  // Frozen for well over the TTL: the lock expires inside Redis meanwhile.
  await elapse(Math.max(0, frozenAt + LOCK_TTL_MS + 1_500 - Date.now()));
  const thawedAt = Date.now();
  frozen.resume();

  const retried = await waitFor('the retry to end', 20_000, () => workers.lines('end').find((l) => l.id === ID));
  await elapse(500); // lines of anything that would wrongly start after it

  // The handler saw E_LOCK_LOST, and saw it before its lease could have
  // expired: the lease lives TTL from the last refresh the frozen store took
  // and answered before the abort, and that refresh ran no sooner than it was
  // sent. The frozen store's refreshes: the run's lock on the lock master
  // (lockRuns), or its claim's lease in the one Redis (`run <key>#<id>`). A
  // refresh sent into the freeze may be answered after the thaw (the outage
  // grace keeps an unreaped run's lease): too late to count.
  expect(abort.code).toBe('E_LOCK_LOST');
  const lockRefresh = (l: LogLine): boolean => !String(l.resource).startsWith('run ');
  const refreshes = holder.find('refresh').filter((l) => String(l.resource).includes(ID) && lockRefresh(l) === (options.lockMasters !== undefined));
  const taken = refreshes.filter((l) => l.ok === true && (l.at as number) < (abort.at as number));
  expect(taken.length, JSON.stringify(refreshes)).toBeGreaterThanOrEqual(1);
  const lastTakenAt = Math.max(...taken.map((l) => l.sentAt as number));
  expect(lastTakenAt).toBeLessThan(frozenAt);
  expect(abort.at as number, JSON.stringify(refreshes)).toBeLessThan(lastTakenAt + LOCK_TTL_MS);
  // No second copy started before the first saw the loss (nor while Redis was frozen).
  const starts = workers.lines('start').filter((l) => l.id === ID).sort((a, b) => (a.at as number) - (b.at as number));
  for (const s of starts.filter((l) => l !== first)) {
    expect(s.at as number).toBeGreaterThanOrEqual(abort.at as number);
    expect(s.at as number).toBeGreaterThanOrEqual(thawedAt);
  }
  // One retry, and it completed; the lost attempt never did.
  expect(starts.map((s) => s.attempt)).toEqual([1, 2]);
  expect(retried.attempt).toBe(2);
  expect(workers.lines('end').filter((l) => l.id === ID)).toHaveLength(1);
  // The holder reported the loss as such (event, failure outcome).
  expect(holder.find('lost', { id: ID })).toMatchObject([{ attempt: 1, code: 'E_LOCK_LOST' }]);
  expect(workers.lines('failure').filter((l) => l.id === ID)).toMatchObject([{ attempt: 1, outcome: 'lock-lost', instance: first.instance }]);

  // History, read straight from Redis.
  const backend = new RedisBackend({ connection: { url: redis.url }, prefix });
  await backend.connect();
  closers.push(() => backend.close());
  const history = (await backend.history(jobKey('export'), 10)).filter((h) => h.id === ID).sort((a, b) => a.attempt - b.attempt);

  for (const w of workers.all) expect(w.alive, `${w.label} alive`).toBe(true);
  await workers.stopAll();
  for (const w of workers.all) expect((await w.exited).code, `${w.label} exit code`).toBe(0);
  return { abort, starts, history, holder, thawedAt };
}

/**
 * Attempt 1 recorded as lost, attempt 2 a success, nothing stalled; a retry
 * that could not take the lock yet (the master still frozen, or a lock taken
 * by a request that timed out during the freeze and ran at the thaw, until
 * its TTL) is put back unrun: recorded `interrupted`, same attempt.
 */
function expectLostThenRetried(history: HistoryEntry[], abort: LogLine, starts: LogLine[]): void {
  for (const h of history.filter((e) => e.outcome === 'interrupted')) {
    expect(h, JSON.stringify(history)).toMatchObject({ attempt: 2, error: expect.stringMatching(/lock unavailable|held by another run/) });
  }
  expect(history.filter((h) => h.outcome !== 'interrupted').map((h) => [h.attempt, h.outcome])).toEqual([
    [1, 'lock-lost'],
    [2, 'success'],
  ]);
  expect(history[0]!.error).toMatch(/lost/);
  // Retried by the policy: fixed 1 s after the lost attempt ended (it ended when its signal aborted).
  expect((starts[1]!.at as number) - (abort.at as number)).toBeGreaterThanOrEqual(RETRY_DELAY_MS - 50);
  expect(workers.lines('stalled')).toEqual([]);
}

describe('fault: Redis frozen (SIGSTOP) for longer than the lock TTL while a job runs', () => {
  it('the lock master frozen, runs locked on it (lockRuns): E_LOCK_LOST before any second copy starts, recorded lock-lost, retried per the retry policy', async () => {
    const { abort, starts, history } = await freezeDuringRun(lockRedis, { lockMasters: [lockRedis.url] });
    expectLostThenRetried(history, abort, starts);
  }, 60_000);

  it('the one Redis (backend and lock) frozen, for less than the command timeout: the same, calls wait for the thaw', async () => {
    const { abort, starts, history } = await freezeDuringRun(redis);
    // The run's lease is its claim's: the refresh waits on the frozen Redis
    // and the run is lost when the lease ends by the instance's clock. Every
    // lease in Redis ran out during the freeze, by Redis time; the reapers
    // leave them alone for a lease after it, so the holder's own outcome is
    // what gets recorded, not a `stalled` one.
    expectLostThenRetried(history, abort, starts);
  }, 60_000);

  it('the one Redis frozen for longer than the command timeout: each instance reports the outage once and its end; the same outcome', async () => {
    const { abort, starts, history, thawedAt } = await freezeDuringRun(redis, { backendCommandTimeoutMs: 1_000 });
    expectLostThenRetried(history, abort, starts);
    for (const w of workers.all) {
      const states = w.find('backend');
      expect(states.map((l) => l.state), w.label).toEqual(['down', 'up']);
      expect(states[0]!.at as number, w.label).toBeLessThan(thawedAt);
      expect(states[1]!.at as number, w.label).toBeGreaterThanOrEqual(thawedAt);
    }
  }, 60_000);
});
