import { describe, expect, it } from 'vitest';
import type { Backend } from '../backend/backend.js';
import { LEASE, PAST_LEASE, MINUTE, type BackendSuiteContext } from './backend-suite-context.js';
import { jobUpsert, type BackendHarness } from './harness.js';

/**
 * What is kept and what goes: `history` (newest first, capped), `removeJob` and
 * `sweep` (finished one-off runs, orphaned jobs).
 */
export function describeHistoryAndRemoval(suite: BackendSuiteContext): void {
  const { upsert, slotClaim, claimOk, enqueue, finishOf, ids, stored } = suite;
  let backend: Backend;
  let harness: BackendHarness;
  suite.onHarness((current) => {
    harness = current;
    backend = current.backend;
  });

  describe('history', () => {
    it('is newest first, limited by the argument, and capped at 100 entries per job', async () => {
      const now = await backend.time();
      const base = now - 200_000;
      await upsert('/hist');
      await claimOk('/hist', base);
      // Skips are the cheapest way to write history: one call each.
      for (let i = 1; i <= 105; i++) {
        expect((await backend.claimSlot(slotClaim('/hist', base + i * 1_000))).status).toBe('skipped');
      }
      expect((await stored('/hist')).skippedCount).toBe(105);
      const all = await backend.history('/hist', 1_000);
      expect(all).toHaveLength(100);
      expect(all[0]!.scheduledAt).toBe(base + 105_000);
      expect(all[99]!.scheduledAt).toBe(base + 6_000);
      for (let i = 1; i < all.length; i++) expect(all[i]!.scheduledAt).toBeLessThan(all[i - 1]!.scheduledAt);
      expect((await backend.history('/hist', 3)).map((e) => e.scheduledAt)).toEqual([
        base + 105_000,
        base + 104_000,
        base + 103_000,
      ]);
      expect(await backend.history('/nobody', 10)).toEqual([]);
    });
  });

  describe('removeJob', () => {
    it('deletes state, history and runs; leaves claims removed and finishes unrecorded', async () => {
      const now = await backend.time();
      await backend.upsertJobs([jobUpsert('/rm'), jobUpsert('/other')]);
      const active = await claimOk('/rm', now - 2_000);
      expect((await backend.claimSlot(slotClaim('/rm', now - 1_000))).status).toBe('skipped');
      await enqueue('/rm', 'pending', now - 500);
      await enqueue('/other', 'kept', now + MINUTE);

      expect(await backend.removeJob('/rm')).toBe(true);
      expect(await backend.getJob('/rm')).toBeNull();
      expect(await backend.history('/rm', 10)).toEqual([]);
      expect((await backend.listJobs()).map((j) => j.key)).toEqual(['/other']);
      expect(await backend.heartbeat([active], LEASE)).toEqual([false]);
      expect(await backend.finishRun(finishOf(active))).toEqual({ recorded: false });
      expect((await backend.claimDueRuns({ instanceId: 'instance-a', leaseMs: LEASE, runIds: ids(5) })).runs).toEqual([]);
      expect(await backend.nextDueAt()).toBe(now + MINUTE);
      expect((await backend.claimSlot(slotClaim('/rm', now))).status).toBe('removed');
      expect(await backend.reapStalledRuns()).toEqual([]);
      expect(await backend.removeJob('/rm')).toBe(false);
      expect(await backend.removeJob('/never')).toBe(false);
      expect(await stored('/other')).toMatchObject({ activeRuns: 0 });
    });
  });

  describe('sweep', () => {
    it('deletes finished one-off runs after retentionMs, and nothing else', async () => {
      const now = await backend.time();
      await upsert('/sw');
      await enqueue('/sw', 'finished', now - 1_000);
      await enqueue('/sw', 'waiting', now + 10 * MINUTE);
      const [run] = (await backend.claimDueRuns({ instanceId: 'instance-a', leaseMs: LEASE, runIds: ids(5) })).runs;
      await backend.finishRun(finishOf(run!));

      expect(await backend.sweep({ retentionMs: LEASE, orphanTimeoutMs: 10 * MINUTE })).toEqual({
        runsDeleted: 0,
        jobsDeleted: 0,
      });
      expect((await enqueue('/sw', 'finished', now)).created).toBe(false);

      await harness.advance(PAST_LEASE);
      expect(await backend.sweep({ retentionMs: LEASE, orphanTimeoutMs: 10 * MINUTE })).toEqual({
        runsDeleted: 1,
        jobsDeleted: 0,
      });
      // The id is free again; the pending run was untouched.
      expect((await enqueue('/sw', 'finished', now)).created).toBe(true);
      expect((await enqueue('/sw', 'waiting', now)).run.state).toBe('pending');
      expect(await backend.getJob('/sw')).not.toBeNull();
    });

    it('deletes jobs not seen for orphanTimeoutMs, sparing touched jobs and jobs with an active run', async () => {
      const now = await backend.time();
      await backend.upsertJobs([jobUpsert('/orphan'), jobUpsert('/touched'), jobUpsert('/busy')]);
      const busy = await claimOk('/busy', now - 1_000);
      const orphanRun = await claimOk('/orphan', now - 1_000);
      await backend.finishRun(finishOf(orphanRun));
      await harness.advance(PAST_LEASE);
      await backend.touchJobs(['/touched']);

      expect(await backend.sweep({ retentionMs: 10 * MINUTE, orphanTimeoutMs: LEASE })).toEqual({
        runsDeleted: 0,
        jobsDeleted: 1,
      });
      expect(await backend.getJob('/orphan')).toBeNull();
      expect(await backend.history('/orphan', 10)).toEqual([]);
      expect(await backend.getJob('/touched')).not.toBeNull();
      expect(await backend.getJob('/busy')).not.toBeNull();

      await backend.finishRun(finishOf(busy));
      expect((await backend.sweep({ retentionMs: 10 * MINUTE, orphanTimeoutMs: LEASE })).jobsDeleted).toBe(1);
      expect(await backend.getJob('/busy')).toBeNull();
      expect(await backend.getJob('/touched')).not.toBeNull();
    });
  });
}
