import { describe, expect, it } from 'vitest';
import type { Backend } from '../backend/backend.js';
import { KeyTable } from '../backend/key-table.js';
import { SchedkitError } from '../errors/schedkit-error.js';
import { LEASE, PAST_LEASE, MINUTE, type BackendSuiteContext } from './backend-suite-context.js';
import { jobUpsert, rejection, type BackendHarness } from './harness.js';

/**
 * One-off and waiting runs: `enqueueRun` (idempotent by id), `claimDueRuns`
 * and `nextDueAt` (due order, key filter, paused and exclusive jobs, concurrent
 * claimers) and `releaseClaims`.
 */
export function describeDueRuns(suite: BackendSuiteContext): void {
  const { upsert, slotClaim, claimOk, enqueue, finishOf, ids, stored } = suite;
  let backend: Backend;
  let harness: BackendHarness;
  suite.onHarness((current) => {
    harness = current;
    backend = current.backend;
  });

  describe('enqueueRun', () => {
    it('creates a pending run and reports it due', async () => {
      const now = await backend.time();
      await upsert('/trig');
      const result = await enqueue('/trig', 'publish-1', now + MINUTE, { params: '{"post":1}' });
      expect(result).toEqual({
        created: true,
        run: {
          id: 'publish-1',
          key: '/trig',
          kind: 'trigger',
          state: 'pending',
          scheduledAt: now + MINUTE,
          dueAt: now + MINUTE,
          attempt: 1,
          outcome: null,
        },
      });
      expect(await backend.nextDueAt()).toBe(now + MINUTE);
    });

    it('a run enqueued with dueAt null is due at backend time now', async () => {
      await upsert('/now');
      const before = await backend.time();
      const { run } = await backend.enqueueRun({ key: '/now', id: 'n', kind: 'trigger', dueAt: null, params: undefined, maxAttempts: 1 });
      const after = await backend.time();
      expect(run.dueAt).toBeGreaterThanOrEqual(before);
      expect(run.dueAt).toBeLessThanOrEqual(after);
      expect(run.scheduledAt).toBe(run.dueAt);
      expect(await backend.nextDueAt()).toBe(run.dueAt);
    });

    it('is idempotent by id: pending, active and finished runs are returned unchanged', async () => {
      const now = await backend.time();
      await upsert('/idem');
      await enqueue('/idem', 'x', now - 1_000);
      const again = await enqueue('/idem', 'x', now + 5 * MINUTE, { params: '{"other":true}' });
      expect(again.created).toBe(false);
      expect(again.run).toMatchObject({ id: 'x', state: 'pending', dueAt: now - 1_000 });

      const [run] = (await backend.claimDueRuns({ instanceId: 'instance-a', leaseMs: LEASE, runIds: ids(5) })).runs;
      expect(run?.params).toBeUndefined();
      expect((await enqueue('/idem', 'x', now)).run.state).toBe('active');

      await backend.finishRun(finishOf(run!));
      const done = await enqueue('/idem', 'x', now);
      expect(done.created).toBe(false);
      expect(done.run).toMatchObject({ state: 'done', outcome: 'success' });
      expect((await backend.claimDueRuns({ instanceId: 'instance-a', leaseMs: LEASE, runIds: ids(5) })).runs).toEqual([]);
    });

    it('run ids are per tenant: jobs of different tenants may use the same id', async () => {
      const now = await backend.time();
      await backend.upsertJobs([jobUpsert('acme/one'), jobUpsert('zeta/two')]);
      expect((await enqueue('acme/one', 'same', now)).created).toBe(true);
      expect((await enqueue('zeta/two', 'same', now)).created).toBe(true);
      const claimed = (await backend.claimDueRuns({ instanceId: 'instance-a', leaseMs: LEASE, runIds: ids(5) })).runs;
      expect(claimed.map((r) => r.key).sort()).toEqual(['acme/one', 'zeta/two']);
    });

    it('rejects with E_JOB_NOT_FOUND for a job never stored or removed', async () => {
      const now = await backend.time();
      const unknown = await rejection(enqueue('/missing', 'a', now));
      expect(SchedkitError.is(unknown, 'E_JOB_NOT_FOUND')).toBe(true);
      await upsert('/removed');
      await backend.removeJob('/removed');
      const removed = await rejection(enqueue('/removed', 'a', now));
      expect(SchedkitError.is(removed, 'E_JOB_NOT_FOUND')).toBe(true);
      expect(await backend.nextDueAt()).toBeNull();
    });
  });

  describe('claimDueRuns / nextDueAt', () => {
    it('claims oldest due first, ties in enqueue order, with fresh attempt ids and fencing tokens', async () => {
      const now = await backend.time();
      await upsert('/order');
      await enqueue('/order', 'c', now - 1_000, { params: '{"n":3}' });
      await enqueue('/order', 'a', now - 3_000);
      await enqueue('/order', 'b1', now - 2_000);
      await enqueue('/order', 'b2', now - 2_000);
      const runIds = ids(10);
      const claimed = (await backend.claimDueRuns({ instanceId: 'instance-z', leaseMs: LEASE, runIds })).runs;
      expect(claimed.map((r) => r.id)).toEqual(['a', 'b1', 'b2', 'c']);
      expect(claimed.map((r) => r.runId)).toEqual(runIds.slice(0, 4));
      expect(claimed.map((r) => r.fencingToken)).toEqual([1, 2, 3, 4]);
      expect(claimed[3]).toMatchObject({
        key: '/order',
        kind: 'trigger',
        scheduledAt: now - 1_000,
        attempt: 1,
        params: '{"n":3}',
        exclusive: false,
      });
      expect(claimed[0]!.claimedAt).toBeGreaterThanOrEqual(now);
      expect(await stored('/order')).toMatchObject({ fence: 4, activeRuns: 4 });
      expect(await backend.nextDueAt()).toBeNull();
    });

    it('leaves runs that are not due yet', async () => {
      const now = await backend.time();
      await upsert('/later');
      await enqueue('/later', 'soon', now + LEASE);
      expect((await backend.claimDueRuns({ instanceId: 'instance-a', leaseMs: LEASE, runIds: ids(5) })).runs).toEqual([]);
      expect(await backend.nextDueAt()).toBe(now + LEASE);
      await harness.advance(PAST_LEASE);
      const claimed = (await backend.claimDueRuns({ instanceId: 'instance-a', leaseMs: LEASE, runIds: ids(5) })).runs;
      expect(claimed.map((r) => r.id)).toEqual(['soon']);
    });

    it('claims at most runIds.length runs and leaves the rest pending', async () => {
      const now = await backend.time();
      await upsert('/limit');
      for (let i = 0; i < 5; i++) await enqueue('/limit', `r${i}`, now - 5_000 + i);
      expect((await backend.claimDueRuns({ instanceId: 'instance-a', leaseMs: LEASE, runIds: [] })).runs).toEqual([]);
      const first = (await backend.claimDueRuns({ instanceId: 'instance-a', leaseMs: LEASE, runIds: ids(2) })).runs;
      expect(first.map((r) => r.id)).toEqual(['r0', 'r1']);
      expect(await backend.nextDueAt()).toBe(now - 5_000 + 2);
      const rest = (await backend.claimDueRuns({ instanceId: 'instance-a', leaseMs: LEASE, runIds: ids(10) })).runs;
      expect(rest.map((r) => r.id)).toEqual(['r2', 'r3', 'r4']);
    });

    it('claims only runs of the given keys, leaving the others pending', async () => {
      const now = await backend.time();
      await backend.upsertJobs([jobUpsert('/ka'), jobUpsert('/kb')]);
      await enqueue('/ka', 'a', now - 2_000);
      await enqueue('/kb', 'b', now - 1_000);
      const onlyB = (await backend.claimDueRuns({
        instanceId: 'instance-a',
        leaseMs: LEASE,
        runIds: ids(5),
        keys: KeyTable.of(['/kb']),
      })).runs;
      expect(onlyB.map((r) => r.key)).toEqual(['/kb']);
      expect(await backend.nextDueAt()).toBe(now - 2_000);
      const rest = (await backend.claimDueRuns({ instanceId: 'instance-a', leaseMs: LEASE, runIds: ids(5) })).runs;
      expect(rest.map((r) => r.key)).toEqual(['/ka']);
    });

    it('holds runs of a paused job until it is resumed', async () => {
      const now = await backend.time();
      await backend.upsertJobs([jobUpsert('/held'), jobUpsert('/free')]);
      await backend.setPaused('/held', true);
      await enqueue('/held', 'h', now - 2_000);
      await enqueue('/free', 'f', now - 1_000);
      const first = (await backend.claimDueRuns({ instanceId: 'instance-a', leaseMs: LEASE, runIds: ids(5) })).runs;
      expect(first.map((r) => r.id)).toEqual(['f']);
      // Held back, not lost: a second call still does not hand it out...
      expect((await backend.claimDueRuns({ instanceId: 'instance-a', leaseMs: LEASE, runIds: ids(5) })).runs).toEqual([]);
      await backend.setPaused('/held', false);
      // ...and resuming releases it.
      const second = (await backend.claimDueRuns({ instanceId: 'instance-a', leaseMs: LEASE, runIds: ids(5) })).runs;
      expect(second.map((r) => r.id)).toEqual(['h']);
    });

    it('claims one exclusive run per job at a time, the next after it finishes', async () => {
      const now = await backend.time();
      await upsert('/excl');
      const first = await claimOk('/excl', now - 3_000, { overlap: 'buffer-one' });
      expect((await backend.claimSlot(slotClaim('/excl', now - 2_000, { overlap: 'buffer-one' }))).status).toBe(
        'buffered',
      );
      // The first run fails and is retried at once: now two exclusive runs are pending.
      await backend.finishRun(finishOf(first, { outcome: 'failed', error: 'boom', retryInMs: 0 }));

      const batch = (await backend.claimDueRuns({ instanceId: 'instance-a', leaseMs: LEASE, runIds: ids(5) })).runs;
      expect(batch).toHaveLength(1);
      expect(batch[0]).toMatchObject({ scheduledAt: now - 2_000, attempt: 1, exclusive: true });
      expect((await backend.claimDueRuns({ instanceId: 'instance-a', leaseMs: LEASE, runIds: ids(5) })).runs).toEqual([]);

      await backend.finishRun(finishOf(batch[0]!));
      const next = (await backend.claimDueRuns({ instanceId: 'instance-a', leaseMs: LEASE, runIds: ids(5) })).runs;
      expect(next).toHaveLength(1);
      expect(next[0]).toMatchObject({ id: first.id, scheduledAt: now - 3_000, attempt: 2, exclusive: true });
      expect(next[0]!.fencingToken).toBeGreaterThan(batch[0]!.fencingToken);
    });

    it('non-exclusive runs are not held back by an active exclusive run', async () => {
      const now = await backend.time();
      await upsert('/mixed');
      await claimOk('/mixed', now - 2_000, { overlap: 'skip' });
      await enqueue('/mixed', 't', now - 1_000);
      const claimed = (await backend.claimDueRuns({ instanceId: 'instance-a', leaseMs: LEASE, runIds: ids(5) })).runs;
      expect(claimed.map((r) => r.id)).toEqual(['t']);
    });

    it('never hands the same run to two concurrent claimers', async () => {
      const now = await backend.time();
      await upsert('/many');
      for (let i = 0; i < 20; i++) await enqueue('/many', `m${i}`, now - 1_000 + i);
      const batches = await Promise.all(
        Array.from({ length: 5 }, (_, i) =>
          backend.claimDueRuns({ instanceId: `instance-${i}`, leaseMs: LEASE, runIds: ids(6) }),
        ),
      );
      const all = batches.flatMap((b) => b.runs);
      expect(all).toHaveLength(20);
      expect(new Set(all.map((r) => r.id)).size).toBe(20);
      expect(new Set(all.map((r) => r.fencingToken)).size).toBe(20);
    });

    it('answers the next due time with the claim', async () => {
      const now = await backend.time();
      await upsert('/soon');
      await enqueue('/soon', 'due', now - 10);
      await enqueue('/soon', 'later', now + MINUTE);
      const result = await backend.claimDueRuns({ instanceId: 'instance-a', leaseMs: LEASE, runIds: ids(5) });
      expect(result.runs.map((r) => r.id)).toEqual(['due']);
      expect(result.nextDueAt).toBe(now + MINUTE);
    });

    it('nextDueAt is null with nothing pending', async () => {
      expect(await backend.nextDueAt()).toBeNull();
    });
  });

  describe('releaseClaims', () => {
    it('gives back the runs an instance claimed under those attempt ids: pending, due now, same attempt, no history', async () => {
      const now = await backend.time();
      await backend.upsertJobs([jobUpsert('/rel'), jobUpsert('/slot')]);
      await enqueue('/rel', 'one', now - 1_000, { maxAttempts: 1 });
      await enqueue('/rel', 'two', now - 900, { maxAttempts: 1 });
      await enqueue('/rel', 'kept', now - 800, { maxAttempts: 1 });
      const offered = ids(3);
      const claimed = (await backend.claimDueRuns({ instanceId: 'instance-a', leaseMs: LEASE, runIds: offered })).runs;
      expect(claimed.map((r) => r.id)).toEqual(['one', 'two', 'kept']);
      const slotRun = await claimOk('/slot', now - 2_000, { instanceId: 'instance-a', requeueOnStall: true, maxAttempts: 2 });

      // Another instance's name, and ids never offered, release nothing.
      expect(await backend.releaseClaims('instance-b', [...offered, slotRun.runId])).toBe(0);
      expect(await backend.releaseClaims('instance-a', ids(2))).toBe(0);
      expect(await backend.releaseClaims('instance-a', [claimed[0]!.runId, claimed[1]!.runId, slotRun.runId, ...ids(1)])).toBe(3);
      expect(await stored('/rel')).toMatchObject({ activeRuns: 1, runCount: 0, failCount: 0 });
      expect(await stored('/slot')).toMatchObject({ activeRuns: 0, runCount: 0 });
      expect(await backend.history('/rel', 10)).toEqual([]);
      expect(await backend.history('/slot', 10)).toEqual([]);
      // Their old claims are void; the claim that was not released still holds.
      expect(await backend.heartbeat([claimed[0]!, slotRun, claimed[2]!], LEASE)).toEqual([false, false, true]);
      expect(await backend.finishRun(finishOf(claimed[0]!))).toEqual({ recorded: false });
      // Pending again at the same attempt, due now: the next claim takes them, oldest due first.
      expect(await backend.nextDueAt()).toBeLessThanOrEqual(await backend.time());
      const again = (await backend.claimDueRuns({ instanceId: 'instance-b', leaseMs: LEASE, runIds: ids(5) })).runs;
      expect(again.map((r) => [r.key, r.id, r.attempt])).toEqual(
        expect.arrayContaining([
          ['/rel', 'one', 1],
          ['/rel', 'two', 1],
          ['/slot', slotRun.id, 1],
        ]),
      );
      expect(again).toHaveLength(3);
      expect(again.find((r) => r.key === '/slot')!.scheduledAt).toBe(now - 2_000);
      // Released twice is released once.
      expect(await backend.releaseClaims('instance-a', [claimed[0]!.runId])).toBe(0);
    });

    it('with no ids releases nothing', async () => {
      expect(await backend.releaseClaims('instance-a', [])).toBe(0);
    });
  });
}
