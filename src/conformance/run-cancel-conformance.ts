import { describe, expect, it, vi } from 'vitest';
import type { Backend, CancelledRunRef, ClaimedRun } from '../backend/backend.js';
import { LEASE, MINUTE, PAST_LEASE, type BackendSuiteContext } from './backend-suite-context.js';
import { type BackendHarness } from './harness.js';

/**
 * Changing runs that have not run: `cancelRun` (pending, retrying, running
 * with and without abort, finished, unknown; `onRunCancelled`, `heartbeat`
 * answering `cancel`) and `rescheduleRun`, each idempotent and each recorded
 * in history once.
 */
export function describeRunCancel(suite: BackendSuiteContext): void {
  const { upsert, slotClaim, claimOk, enqueue, finishOf, ids, stored } = suite;
  let backend: Backend;
  let harness: BackendHarness;
  suite.onHarness((current) => {
    harness = current;
    backend = current.backend;
  });

  async function claimTriggers(count: number, instanceId = 'instance-a'): Promise<ClaimedRun[]> {
    return (await backend.claimDueRuns({ instanceId, leaseMs: 10 * MINUTE, runIds: ids(count) })).runs;
  }

  const cancel = (key: string, id: string, abort = false) => backend.cancelRun({ key, id, instanceId: 'instance-c', abort });
  const reschedule = (key: string, id: string, at: number) => backend.rescheduleRun({ key, id, instanceId: 'instance-c', at });

  describe('cancelRun', () => {
    it('a pending run: finished as cancelled, never claimed, recorded once', async () => {
      const now = await backend.time();
      await upsert('/cancel');
      await enqueue('/cancel', 'post-1', now - 1_000);
      const before = await backend.time();
      const result = await cancel('/cancel', 'post-1');
      const after = await backend.time();
      expect(result.status).toBe('cancelled');
      expect(result.run).toMatchObject({ id: 'post-1', key: '/cancel', state: 'done', outcome: 'cancelled', cancelRequested: false });
      expect(await claimTriggers(1)).toEqual([]);
      expect(await backend.nextDueAt()).toBeNull();
      expect(await backend.getRun({ key: '/cancel', id: 'post-1' })).toMatchObject({ state: 'done', outcome: 'cancelled' });
      expect((await backend.listRuns({ limit: 10 })).runs).toEqual([]);
      const history = await backend.history('/cancel', 10);
      expect(history).toHaveLength(1);
      expect(history[0]).toMatchObject({
        id: 'post-1',
        kind: 'trigger',
        scheduledAt: now - 1_000,
        startedAt: null,
        outcome: 'cancelled',
        reason: 'cancel',
        error: null,
        instanceId: 'instance-c',
        attempt: 1,
      });
      expect(history[0]!.finishedAt).toBeGreaterThanOrEqual(before);
      expect(history[0]!.finishedAt).toBeLessThanOrEqual(after);
      expect(await stored('/cancel')).toMatchObject({ runCount: 0, failCount: 0, activeRuns: 0 });

      // Again: the same answer, nothing appended; enqueueing the id again finds the cancelled run.
      expect((await cancel('/cancel', 'post-1', true)).status).toBe('cancelled');
      expect(await backend.history('/cancel', 10)).toHaveLength(1);
      expect(await enqueue('/cancel', 'post-1', now)).toMatchObject({ created: false, run: { state: 'done', outcome: 'cancelled' } });
    });

    it('a retrying run: cancelled before its next attempt', async () => {
      const now = await backend.time();
      await upsert('/cancel-retry');
      await enqueue('/cancel-retry', 'r', now - 1_000, { maxAttempts: 3 });
      const [run] = await claimTriggers(1);
      await backend.finishRun(finishOf(run!, { outcome: 'failed', error: 'boom', retryInMs: 0 }));
      const result = await cancel('/cancel-retry', 'r');
      expect(result).toMatchObject({ status: 'cancelled', run: { state: 'done', outcome: 'cancelled', attempt: 2 } });
      expect(await claimTriggers(1)).toEqual([]);
      expect((await backend.history('/cancel-retry', 10)).map((e) => [e.outcome, e.reason, e.attempt])).toEqual([
        ['cancelled', 'cancel', 2],
        ['failed', null, 1],
      ]);
    });

    it('a pending slot run (buffered) is cancelled and kept as done', async () => {
      const now = await backend.time();
      await upsert('/cancel-slot');
      const active = await claimOk('/cancel-slot', now - 2_000, { overlap: 'buffer-one' });
      const buffered = await backend.claimSlot(slotClaim('/cancel-slot', now - 1_000, { overlap: 'buffer-one' }));
      const id = (buffered as { run: { id: string } }).run.id;
      expect((await cancel('/cancel-slot', id)).status).toBe('cancelled');
      await backend.finishRun(finishOf(active));
      expect(await claimTriggers(1)).toEqual([]);
      expect(await backend.getRun({ key: '/cancel-slot', id })).toMatchObject({ kind: 'slot', state: 'done', outcome: 'cancelled' });
      expect((await cancel('/cancel-slot', id)).status).toBe('cancelled');
    });

    it('a running run without abort: marked, not told, and not retried when it finishes', async () => {
      const now = await backend.time();
      await upsert('/cancel-running');
      await enqueue('/cancel-running', 'r', now - 1_000, { maxAttempts: 3 });
      const [run] = await claimTriggers(1);
      const told: CancelledRunRef[] = [];
      backend.onRunCancelled((ref) => told.push(ref));
      const result = await cancel('/cancel-running', 'r');
      expect(result).toMatchObject({ status: 'cancelling', run: { state: 'running', cancelRequested: true } });
      expect((await cancel('/cancel-running', 'r')).status).toBe('cancelling');
      expect(await backend.heartbeat([run!], LEASE)).toEqual([true]);
      expect((await backend.history('/cancel-running', 10)).map((e) => [e.outcome, e.reason])).toEqual([['cancelled', 'cancel']]);
      expect(await backend.finishRun(finishOf(run!, { outcome: 'failed', error: 'boom', retryInMs: 0 }))).toEqual({ recorded: true });
      expect(await backend.getRun({ key: '/cancel-running', id: 'r' })).toMatchObject({ state: 'done', outcome: 'failed', attempt: 1 });
      expect(await claimTriggers(1)).toEqual([]);
      expect(await backend.nextDueAt()).toBeNull();
      expect(told).toEqual([]);
      // Finished now: a cancel changes nothing.
      expect((await cancel('/cancel-running', 'r')).status).toBe('finished');
      expect(await backend.history('/cancel-running', 10)).toHaveLength(2);
    });

    it('a running run with abort: every listener is told, heartbeat answers cancel, recorded once', async () => {
      const now = await backend.time();
      await upsert('/abort');
      const run = await claimOk('/abort', now - 1_000, { requeueOnStall: true, maxAttempts: 3 });
      const told: CancelledRunRef[] = [];
      const toldToo: CancelledRunRef[] = [];
      backend.onRunCancelled((ref) => told.push(ref));
      const unsubscribe = backend.onRunCancelled((ref) => toldToo.push(ref));
      expect(await cancel('/abort', run.id, true)).toMatchObject({ status: 'cancelling', run: { state: 'running', cancelRequested: true } });
      await vi.waitFor(() => expect(told).toEqual([{ key: '/abort', id: run.id }]), { timeout: 2_000 });
      await vi.waitFor(() => expect(toldToo).toEqual([{ key: '/abort', id: run.id }]), { timeout: 2_000 });
      unsubscribe();
      expect(await backend.heartbeat([run, { ...run, fencingToken: run.fencingToken + 1 }], LEASE)).toEqual(['cancel', false]);
      expect((await cancel('/abort', run.id, true)).status).toBe('cancelling');
      expect((await backend.history('/abort', 10)).map((e) => [e.outcome, e.reason, e.id, e.instanceId])).toEqual([
        ['cancelled', 'abort', run.id, 'instance-c'],
      ]);
      // Its instance aborts it and records the attempt; requeue is refused too.
      expect(await backend.finishRun(finishOf(run, { outcome: 'interrupted', error: 'cancelled', requeueInMs: 0 }))).toEqual({ recorded: true });
      expect(await backend.nextDueAt()).toBeNull();
      expect(await claimTriggers(1)).toEqual([]);
      expect(await stored('/abort')).toMatchObject({ activeRuns: 0 });
      expect((await backend.history('/abort', 10)).map((e) => e.outcome)).toEqual(['interrupted', 'cancelled']);
    });

    it('a finished run answers finished and changes nothing; an unknown one not-found', async () => {
      const now = await backend.time();
      await upsert('/done');
      await enqueue('/done', 'd', now - 1_000);
      const [run] = await claimTriggers(1);
      await backend.finishRun(finishOf(run!));
      const before = await stored('/done');
      const result = await cancel('/done', 'd', true);
      expect(result).toMatchObject({ status: 'finished', run: { state: 'done', outcome: 'success' } });
      expect(await stored('/done')).toEqual(before);
      expect(await backend.history('/done', 10)).toHaveLength(1);
      expect(await cancel('/done', 'missing')).toEqual({ status: 'not-found', run: null });
      expect(await cancel('/nojob', 'd')).toEqual({ status: 'not-found', run: null });
    });
  });

  describe('rescheduleRun', () => {
    it('a pending run moves to the new time: claimed only then, recorded once', async () => {
      const now = await backend.time();
      await upsert('/move');
      await enqueue('/move', 'm', now - 1_000);
      const at = now + LEASE;
      const result = await reschedule('/move', 'm', at);
      expect(result).toMatchObject({ status: 'rescheduled', run: { state: 'pending', scheduledAt: at, dueAt: at } });
      expect(await backend.nextDueAt()).toBe(at);
      expect(await claimTriggers(1)).toEqual([]);
      const [entry] = await backend.history('/move', 10);
      expect(entry).toMatchObject({
        id: 'm',
        kind: 'trigger',
        scheduledAt: at,
        startedAt: null,
        outcome: 'rescheduled',
        reason: String(now - 1_000),
        instanceId: 'instance-c',
        attempt: 1,
      });
      // The same time again: nothing changes, nothing is appended.
      expect((await reschedule('/move', 'm', at)).status).toBe('rescheduled');
      expect(await backend.history('/move', 10)).toHaveLength(1);
      await harness.advance(PAST_LEASE);
      const [claimed] = await claimTriggers(1);
      expect(claimed).toMatchObject({ id: 'm', scheduledAt: at });
    });

    it('a run moved earlier is claimed earlier; a retrying run keeps its attempt', async () => {
      const now = await backend.time();
      await upsert('/earlier');
      await enqueue('/earlier', 'e', now + 10 * MINUTE, { maxAttempts: 3 });
      await reschedule('/earlier', 'e', now - 1);
      const [run] = await claimTriggers(1);
      expect(run).toMatchObject({ id: 'e', scheduledAt: now - 1 });
      await backend.finishRun(finishOf(run!, { outcome: 'failed', error: 'boom', retryInMs: 10 * MINUTE }));
      expect(await reschedule('/earlier', 'e', now - 5)).toMatchObject({ status: 'rescheduled', run: { state: 'retrying', attempt: 2 } });
      expect(await claimTriggers(1)).toMatchObject([{ id: 'e', attempt: 2, scheduledAt: now - 5 }]);
    });

    it('a paused job\'s run stays held back at its new time until resumed', async () => {
      const now = await backend.time();
      await upsert('/paused-move');
      await backend.setPaused('/paused-move', true);
      await enqueue('/paused-move', 'p', now + 10 * MINUTE);
      await reschedule('/paused-move', 'p', now - 1);
      expect(await claimTriggers(1)).toEqual([]);
      await backend.setPaused('/paused-move', false);
      expect(await claimTriggers(1)).toMatchObject([{ id: 'p', scheduledAt: now - 1 }]);
    });

    it('running, finished and unknown runs are left as they are', async () => {
      const now = await backend.time();
      await upsert('/fixed');
      await enqueue('/fixed', 'run', now - 2_000);
      await enqueue('/fixed', 'done', now - 1_000);
      const [running, done] = await claimTriggers(2);
      await backend.finishRun(finishOf(done!));
      expect(await reschedule('/fixed', 'run', now + MINUTE)).toMatchObject({ status: 'running', run: { state: 'running', scheduledAt: now - 2_000 } });
      expect(await reschedule('/fixed', 'done', now + MINUTE)).toMatchObject({ status: 'finished', run: { state: 'done' } });
      expect(await reschedule('/fixed', 'nope', now + MINUTE)).toEqual({ status: 'not-found', run: null });
      expect((await backend.history('/fixed', 10)).map((e) => e.outcome)).toEqual(['success']);
      expect(await backend.heartbeat([running!], LEASE)).toEqual([true]);
    });
  });
}
