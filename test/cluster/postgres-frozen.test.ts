import { afterEach, describe, expect, it } from 'vitest';
import type { HistoryEntry } from '../../src/backend/backend.js';
import { jobKey } from '../../src/job/job-key.js';
import type { LogLine } from '../helpers/node-process.js';
import { openPostgresClient, usePostgresCluster } from './postgres-cluster.js';
import { elapse, waitFor } from './workers.js';

/**
 * SPEC §4.4 on PostgreSQL (§13), issue 14: the database is frozen (SIGSTOP of
 * the postmaster and every backend: connections stay open, nothing answers)
 * for longer than a run's lease while the run's handler works, then thawed.
 * The handler's signal aborts with E_LOCK_LOST no later than the lease can
 * have expired by the last refresh the database took; no second copy starts
 * before that abort (nor while frozen); after the thaw exactly one instance
 * goes on with the run (its retry), and it is recorded `lock-lost`, then
 * `success`. Every lease in the database ran out during the freeze, by the
 * database's clock: the reapers must leave the run to its holder (the outage
 * rule of `heartbeat_instance`), so nothing is reaped as stalled.
 */

const cluster = usePostgresCluster();
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  // FAULT_DEBUG=<file>: write every worker's lines and logs there (to read a failure).
  if (process.env.FAULT_DEBUG) {
    const { appendFileSync } = await import('node:fs');
    appendFileSync(process.env.FAULT_DEBUG, cluster.workers.all.map((w) => `== ${w.label}\n${w.lines.map((l) => JSON.stringify(l)).join('\n')}\n${w.stderr}`).join('\n'));
  }
  cluster.server.thaw();
  await cluster.workers.killAll();
  cluster.workers.all.splice(0);
  for (const close of closers.splice(0)) await close();
});

const LOCK_TTL_MS = 2_000;
const REFRESH_MS = 500;
const RETRY_DELAY_MS = 1_000;
/** How long the database stays frozen: well over the lease, so it ends inside the database meanwhile. */
const FROZEN_MS = LOCK_TTL_MS + 1_500;
/** The query timeout of the second case, and the pool's connection timeout (schedkit's, 5 s). */
const SHORT_QUERY_TIMEOUT_MS = 1_000;
const CONNECT_TIMEOUT_MS = 5_000;
/**
 * A failed call is confirmed as an outage by probes, and a probe that needs a
 * new connection waits for it up to the pool's connection timeout, not the
 * query timeout: frozen past both (and a margin), the outage is confirmed
 * before the thaw.
 */
const OUTAGE_FROZEN_MS = SHORT_QUERY_TIMEOUT_MS + CONNECT_TIMEOUT_MS + 2_000;
/** Timer and event-loop lateness allowed on a loaded machine between the lease's end and the abort. */
const ABORT_SLACK_MS = 200;
const ID = 'export-7';

/**
 * Three instances on one database (backend and lock); one triggers a long
 * one-off run. Once the database took a refresh of its lease, the database
 * is frozen for `frozenMs`, then thawed (always, even when a wait fails); the
 * retry (a short attempt) must complete.
 */
async function freezeDuringRun(frozenMs: number, queryTimeoutMs?: number) {
  const { workers, server } = cluster;
  const postgres = { ...cluster.place('frozen'), ...(queryTimeoutMs === undefined ? {} : { queryTimeoutMs }) };
  const config = { lockTtlMs: LOCK_TTL_MS, lockRefreshMs: REFRESH_MS, pollIntervalMs: 250 };
  const jobs = [
    {
      name: 'export',
      durationMs: 30_000, // the first attempt outlives the freeze (it stops when its signal aborts)
      retryDurationMs: 500,
      retry: { maxRetries: 2, strategy: 'fixed' as const, initialDelayMs: RETRY_DELAY_MS, jitter: 'none' as const },
    },
  ];
  const base = { redisUrl: '', prefix: '', postgres, config, jobs };
  await Promise.all([
    workers.start({ ...base, instanceId: 'node-1', triggers: [{ job: 'export', id: ID }] }, 60_000),
    workers.start({ ...base, instanceId: 'node-2' }, 60_000),
    workers.start({ ...base, instanceId: 'node-3' }, 60_000),
  ]);
  const first = await waitFor('the first attempt', 15_000, () => workers.lines('start').find((l) => l.id === ID && l.attempt === 1));
  const holder = workers.all.find((w) => w.label === first.instance)!;
  // The lease is held and healthy when the database freezes: the database took a refresh of it.
  await holder.waitUntil('a refresh of the run the database took', 5_000, () =>
    holder.find('refresh', { ok: true }).some((l) => String(l.resource).includes(ID)),
  );

  let abort: LogLine;
  let frozenAt: number;
  try {
    server.freeze();
    frozenAt = Date.now();
    abort = await holder.waitForLine('abort', { id: ID, attempt: 1 }, LOCK_TTL_MS + 3_000);
    await elapse(Math.max(0, frozenAt + frozenMs - Date.now()));
  } finally {
    server.thaw();
  }
  const thawedAt = Date.now();

  const retried = await waitFor('the retry to end', 20_000, () => workers.lines('end').find((l) => l.id === ID));
  // Nothing announces a wrong second start: give one a moment to show.
  await elapse(500);

  // The handler saw E_LOCK_LOST, and no later than its lease can have
  // expired in the database: the lease lives TTL from the last refresh the
  // database took and answered before the abort, and that refresh ran no
  // sooner than it was sent. A refresh sent into the freeze is answered
  // after the thaw, if at all: too late to count.
  expect(abort.code).toBe('E_LOCK_LOST');
  const refreshes = holder.find('refresh').filter((l) => String(l.resource).startsWith('run ') && String(l.resource).includes(ID));
  const taken = refreshes.filter((l) => l.ok === true && (l.at as number) < (abort.at as number));
  expect(taken.length, JSON.stringify(refreshes)).toBeGreaterThanOrEqual(1);
  const lastTakenAt = Math.max(...taken.map((l) => l.sentAt as number));
  expect(lastTakenAt).toBeLessThan(frozenAt);
  expect(abort.at as number, JSON.stringify(refreshes)).toBeLessThanOrEqual(lastTakenAt + LOCK_TTL_MS + ABORT_SLACK_MS);
  // No second copy started before the first saw the loss, nor while the database was frozen.
  const starts = workers.lines('start').filter((l) => l.id === ID).sort((a, b) => (a.at as number) - (b.at as number));
  for (const s of starts.filter((l) => l !== first)) {
    expect(s.at as number).toBeGreaterThanOrEqual(abort.at as number);
    expect(s.at as number).toBeGreaterThanOrEqual(thawedAt);
  }
  // Exactly one instance went on with it: one retry, which completed; the lost attempt never did.
  expect(starts.map((s) => s.attempt)).toEqual([1, 2]);
  expect(retried.attempt).toBe(2);
  expect(workers.lines('end').filter((l) => l.id === ID)).toHaveLength(1);
  // The holder reported the loss as such (event, failure outcome).
  expect(holder.find('lost', { id: ID })).toMatchObject([{ attempt: 1, code: 'E_LOCK_LOST' }]);
  expect(workers.lines('failure').filter((l) => l.id === ID)).toMatchObject([{ attempt: 1, outcome: 'lock-lost', instance: first.instance }]);

  // History, read straight from the database.
  const opened = await openPostgresClient(postgres);
  closers.push(opened.close);
  const history = (await opened.backend.history(jobKey('export'), 10)).filter((h) => h.id === ID).sort((a, b) => a.attempt - b.attempt);

  for (const w of workers.all) expect(w.alive, `${w.label} alive`).toBe(true);
  await workers.stopAll();
  for (const w of workers.all) {
    expect((await w.exited).code, `${w.label} exit code`).toBe(0);
    // Nothing uncaught: every line on stderr is a log line (an uncaught error would print its stack).
    expect(w.stderr.split('\n').filter((t) => t.trim() !== '' && !t.startsWith('{')), `${w.label} stderr`).toEqual([]);
  }
  return { abort, starts, history, thawedAt };
}

/**
 * Attempt 1 recorded as lost, attempt 2 a success, nothing stalled; a retry
 * that could not start yet is put back unrun (recorded `interrupted`, same attempt).
 */
function expectLostThenRetried(history: HistoryEntry[], abort: LogLine, starts: LogLine[]): void {
  for (const h of history.filter((e) => e.outcome === 'interrupted')) expect(h, JSON.stringify(history)).toMatchObject({ attempt: 2 });
  expect(history.filter((h) => h.outcome !== 'interrupted').map((h) => [h.attempt, h.outcome]), JSON.stringify(history)).toEqual([
    [1, 'lock-lost'],
    [2, 'success'],
  ]);
  expect(history[0]!.error).toMatch(/lost/);
  // Retried by the policy: fixed 1 s after the lost attempt ended (it ended when its signal aborted).
  expect((starts[1]!.at as number) - (abort.at as number)).toBeGreaterThanOrEqual(RETRY_DELAY_MS - 50);
  expect(cluster.workers.lines('stalled')).toEqual([]);
}

describe('fault: PostgreSQL frozen (SIGSTOP) for longer than the lease of a running job', () => {
  it('frozen for less than the query timeout: E_LOCK_LOST by the lease\'s end, no second copy before it, one retry; not an outage', async () => {
    const { abort, starts, history } = await freezeDuringRun(FROZEN_MS);
    expectLostThenRetried(history, abort, starts);
    // Every call waited for the thaw and was answered: no instance saw an outage.
    expect(cluster.workers.lines('backend')).toEqual([]);
  }, 120_000);

  it('frozen for longer than the query and connection timeouts: the same, and each instance reports the outage once and its end', async () => {
    const { abort, starts, history, thawedAt } = await freezeDuringRun(OUTAGE_FROZEN_MS, SHORT_QUERY_TIMEOUT_MS);
    expectLostThenRetried(history, abort, starts);
    for (const w of cluster.workers.all) {
      const states = w.find('backend');
      expect(states.map((l) => l.state), w.label).toEqual(['down', 'up']);
      expect(states[0]!.at as number, w.label).toBeLessThan(thawedAt);
      expect(states[1]!.at as number, w.label).toBeGreaterThanOrEqual(thawedAt);
    }
  }, 120_000);
});
