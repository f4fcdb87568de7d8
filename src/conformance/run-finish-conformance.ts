import { describe, expect, it } from 'vitest';
import type { Backend } from '../backend/backend.js';
import { jobStatus } from '../backend/job-status.js';
import { LEASE, PAST_LEASE, type BackendSuiteContext } from './backend-suite-context.js';
import { type BackendHarness } from './harness.js';

/**
 * Active runs to their end: `heartbeat`, `finishRun` (each outcome, retries,
 * requeues, stale fencing tokens) and `finishRuns`.
 */
export function describeRunFinish(suite: BackendSuiteContext): void {
  const { upsert, claimOk, enqueue, finishOf, ids, stored } = suite;
  let backend: Backend;
  let harness: BackendHarness;
  suite.onHarness((current) => {
    harness = current;
    backend = current.backend;
  });

  describe('heartbeat', () => {
    it('answers per run whether it is still active with that fencing token', async () => {
      const now = await backend.time();
      await upsert('/hb');
      const run = await claimOk('/hb', now - 1_000);
      const ref = { key: run.key, id: run.id, fencingToken: run.fencingToken };
      expect(
        await backend.heartbeat(
          [ref, { ...ref, fencingToken: run.fencingToken + 1 }, { ...ref, id: 'unknown' }, { ...ref, key: '/nojob' }],
          LEASE,
        ),
      ).toEqual([true, false, false, false]);
      await backend.finishRun(finishOf(run));
      expect(await backend.heartbeat([ref], LEASE)).toEqual([false]);
      expect(await backend.heartbeat([], LEASE)).toEqual([]);
    });

    it('keeps a run from being reaped', async () => {
      const now = await backend.time();
      await upsert('/alive');
      const run = await claimOk('/alive', now - 1_000, { leaseMs: 400 });
      const ref = { key: run.key, id: run.id, fencingToken: run.fencingToken };
      await harness.advance(250);
      expect(await backend.heartbeat([ref], 400)).toEqual([true]);
      await harness.advance(250);
      expect(await backend.reapStalledRuns()).toEqual([]);
      await harness.advance(300);
      const reaped = await backend.reapStalledRuns();
      expect(reaped.map((r) => r.id)).toEqual([run.id]);
    });
  });

  describe('finishRun', () => {
    it('success: counters, history entry (on backend time) and the slot run is gone', async () => {
      const now = await backend.time();
      await upsert('/ok');
      const run = await claimOk('/ok', now - 1_000);
      // Ended 5 ms before the call, after running 50 ms: dated on the backend's clock, not the caller's.
      const finish = finishOf(run, { instanceId: 'instance-a', durationMs: 50, endedMsAgo: 5 });
      const before = await backend.time();
      expect(await backend.finishRun(finish)).toEqual({ recorded: true });
      const after = await backend.time();
      const s = await stored('/ok');
      const finishedAt = (await backend.history('/ok', 1))[0]!.finishedAt!;
      expect(finishedAt).toBeGreaterThanOrEqual(before - 5);
      expect(finishedAt).toBeLessThanOrEqual(after - 5);
      expect(s).toMatchObject({
        runCount: 1,
        failCount: 0,
        lastRunAt: finishedAt - 50,
        lastDurationMs: 50,
        lastError: null,
        lastOutcome: 'success',
        activeRuns: 0,
      });
      expect(jobStatus(s)).toBe('scheduled');
      expect(await backend.history('/ok', 10)).toEqual([
        {
          runId: run.runId,
          id: run.id,
          kind: 'slot',
          scheduledAt: now - 1_000,
          startedAt: finishedAt - 50,
          finishedAt,
          outcome: 'success',
          reason: null,
          error: null,
          instanceId: 'instance-a',
          attempt: 1,
        },
      ]);
      // Finished: a second finish is stale, the run is not pending.
      expect(await backend.finishRun(finish)).toEqual({ recorded: false });
      expect(await backend.nextDueAt()).toBeNull();
    });

    it('success clears a previous error', async () => {
      const now = await backend.time();
      await upsert('/recover');
      const bad = await claimOk('/recover', now - 2_000);
      await backend.finishRun(finishOf(bad, { outcome: 'failed', error: 'boom' }));
      const good = await claimOk('/recover', now - 1_000);
      await backend.finishRun(finishOf(good));
      expect(await stored('/recover')).toMatchObject({ runCount: 2, failCount: 1, lastError: null, lastOutcome: 'success' });
    });

    for (const outcome of ['failed', 'timeout', 'lock-lost'] as const) {
      it(`${outcome}: counts a run and a failure and keeps the error`, async () => {
        const now = await backend.time();
        await upsert(`/${outcome}`);
        const run = await claimOk(`/${outcome}`, now - 1_000);
        await backend.finishRun(finishOf(run, { outcome, error: `went ${outcome}`, durationMs: 30 }));
        const s = await stored(`/${outcome}`);
        const [entry] = await backend.history(`/${outcome}`, 1);
        expect(s).toMatchObject({
          runCount: 1,
          failCount: 1,
          lastRunAt: entry!.startedAt,
          lastDurationMs: 30,
          lastError: `went ${outcome}`,
          lastOutcome: outcome,
          activeRuns: 0,
        });
        expect(jobStatus(s)).toBe('failed');
        expect(entry).toMatchObject({ outcome, error: `went ${outcome}`, runId: run.runId, attempt: 1 });
      });
    }

    it('interrupted: recorded in history only', async () => {
      const now = await backend.time();
      await upsert('/int');
      const run = await claimOk('/int', now - 1_000);
      await backend.finishRun(finishOf(run, { outcome: 'interrupted', error: 'shutdown' }));
      expect(await stored('/int')).toMatchObject({
        runCount: 0,
        failCount: 0,
        lastRunAt: null,
        lastOutcome: null,
        lastError: null,
        activeRuns: 0,
      });
      expect((await backend.history('/int', 5)).map((e) => e.outcome)).toEqual(['interrupted']);
    });

    it('retryInMs puts the run back as the next attempt, due that long after the call by backend time', async () => {
      const now = await backend.time();
      await upsert('/retry');
      const run = await claimOk('/retry', now - 1_000);
      const before = await backend.time();
      expect(await backend.finishRun(finishOf(run, { outcome: 'failed', error: 'boom', retryInMs: LEASE }))).toEqual({
        recorded: true,
      });
      const after = await backend.time();
      const retryAt = (await backend.nextDueAt())!;
      expect(retryAt).toBeGreaterThanOrEqual(before + LEASE);
      expect(retryAt).toBeLessThanOrEqual(after + LEASE);
      expect(await stored('/retry')).toMatchObject({ runCount: 1, failCount: 1, activeRuns: 0 });
      expect((await backend.claimDueRuns({ instanceId: 'instance-a', leaseMs: LEASE, runIds: ids(2) })).runs).toEqual([]);
      await harness.advance(PAST_LEASE);
      const runIds = ids(2);
      const [again] = (await backend.claimDueRuns({ instanceId: 'instance-b', leaseMs: LEASE, runIds })).runs;
      expect(again).toMatchObject({
        runId: runIds[0],
        id: run.id,
        key: '/retry',
        kind: 'slot',
        scheduledAt: now - 1_000,
        attempt: 2,
        exclusive: true,
      });
      expect(again!.fencingToken).toBeGreaterThan(run.fencingToken);
      // The old token is dead; the new attempt finishes under its own.
      expect(await backend.finishRun(finishOf(run))).toEqual({ recorded: false });
      expect(await backend.finishRun(finishOf(again!))).toEqual({ recorded: true });
      const history = await backend.history('/retry', 5);
      expect(history.map((e) => [e.attempt, e.outcome, e.runId])).toEqual([
        [2, 'success', runIds[0]],
        [1, 'failed', run.runId],
      ]);
    });

    it('requeueInMs puts the run back with the same attempt', async () => {
      const now = await backend.time();
      await upsert('/requeue');
      await enqueue('/requeue', 'job-1', now - 1_000, { maxAttempts: 3, params: '{"a":1}' });
      const [run] = (await backend.claimDueRuns({ instanceId: 'instance-a', leaseMs: LEASE, runIds: ids(1) })).runs;
      await backend.finishRun(finishOf(run!, { outcome: 'interrupted', error: 'shutdown', requeueInMs: 0 }));
      expect((await enqueue('/requeue', 'job-1', now)).run).toMatchObject({ state: 'pending', attempt: 1 });
      const [again] = (await backend.claimDueRuns({ instanceId: 'instance-b', leaseMs: LEASE, runIds: ids(1) })).runs;
      expect(again).toMatchObject({ id: 'job-1', attempt: 1, params: '{"a":1}', kind: 'trigger' });
      expect(again!.fencingToken).toBeGreaterThan(run!.fencingToken);
    });

    it('changes nothing for a stale fencing token', async () => {
      const now = await backend.time();
      await upsert('/stale');
      const run = await claimOk('/stale', now - 1_000);
      expect(await backend.finishRun(finishOf(run, { fencingToken: run.fencingToken + 1 }))).toEqual({ recorded: false });
      expect(await backend.finishRun(finishOf(run, { id: 'other' }))).toEqual({ recorded: false });
      expect(await stored('/stale')).toMatchObject({ runCount: 0, activeRuns: 1, lastOutcome: null });
      expect(await backend.history('/stale', 5)).toEqual([]);
      expect(await backend.heartbeat([run], LEASE)).toEqual([true]);
    });
  });

  describe('finishRuns', () => {
    it('answers recorded per run, in order: a stale token or an unknown run changes nothing and does not stop the others', async () => {
      const now = await backend.time();
      await upsert('/f1');
      await upsert('/f2');
      const a = await claimOk('/f1', now - 2_000);
      const b = await claimOk('/f2', now - 2_000, { overlap: 'allow' });
      const c = await claimOk('/f2', now - 1_000, { overlap: 'allow' });
      const recorded = await backend.finishRuns([
        finishOf(a),
        finishOf(b, { fencingToken: b.fencingToken + 100 }),
        finishOf(c, { outcome: 'failed', error: 'boom' }),
        finishOf(a),
        finishOf({ ...a, key: '/missing' }),
      ]);
      expect(recorded).toEqual([true, false, true, false, false]);
      expect(await stored('/f1')).toMatchObject({ runCount: 1, activeRuns: 0, lastOutcome: 'success' });
      expect(await stored('/f2')).toMatchObject({ runCount: 1, failCount: 1, activeRuns: 1, lastError: 'boom' });
      expect((await backend.history('/f2', 10)).map((h) => h.runId)).toEqual([c.runId]);
    });

    it('with no runs answers nothing', async () => {
      expect(await backend.finishRuns([])).toEqual([]);
    });
  });
}
