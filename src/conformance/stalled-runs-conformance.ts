import { describe, expect, it } from 'vitest';
import type { Backend } from '../backend/backend.js';
import { jobStatus } from '../backend/job-status.js';
import { LEASE, PAST_LEASE, type BackendSuiteContext } from './backend-suite-context.js';
import { jobUpsert, type BackendHarness } from './harness.js';

/**
 * `reapStalledRuns`: expired leases are recorded as stalled and requeued while
 * attempts remain, and an outage (nobody heard from) grants one more lease.
 */
export function describeStalledRuns(suite: BackendSuiteContext): void {
  const { upsert, claimOk, enqueue, finishOf, ids, stored } = suite;
  let backend: Backend;
  let harness: BackendHarness;
  suite.onHarness((current) => {
    harness = current;
    backend = current.backend;
  });

  describe('reapStalledRuns', () => {
    it('leaves runs whose lease has not expired', async () => {
      const now = await backend.time();
      await upsert('/fresh');
      await claimOk('/fresh', now - 1_000);
      expect(await backend.reapStalledRuns()).toEqual([]);
      expect((await stored('/fresh')).activeRuns).toBe(1);
    });

    it('records a stalled run and requeues it while attempts remain, then finishes it', async () => {
      const now = await backend.time();
      await upsert('/stall');
      const run = await claimOk('/stall', now - 1_000, { requeueOnStall: true, maxAttempts: 2, instanceId: 'dead-1' });
      await harness.advance(PAST_LEASE);

      const reaped = await backend.reapStalledRuns();
      expect(reaped).toEqual([
        { key: '/stall', id: run.id, kind: 'slot', scheduledAt: now - 1_000, attempt: 1, instanceId: 'dead-1', requeued: true },
      ]);
      const s = await stored('/stall');
      expect(s).toMatchObject({ runCount: 1, failCount: 1, lastOutcome: 'stalled', activeRuns: 0 });
      expect(s.lastError).toContain('dead-1');
      expect(jobStatus(s)).toBe('failed');
      const [entry] = await backend.history('/stall', 1);
      expect(entry).toMatchObject({
        runId: run.runId,
        id: run.id,
        kind: 'slot',
        scheduledAt: now - 1_000,
        startedAt: run.claimedAt,
        outcome: 'stalled',
        instanceId: 'dead-1',
        attempt: 1,
      });
      expect(entry!.finishedAt).toBeGreaterThanOrEqual(run.claimedAt + LEASE);
      expect(entry!.error).toContain('dead-1');
      // The dead instance's token no longer works.
      expect(await backend.heartbeat([run], LEASE)).toEqual([false]);
      expect(await backend.finishRun(finishOf(run))).toEqual({ recorded: false });

      const [retry] = (await backend.claimDueRuns({ instanceId: 'dead-2', leaseMs: LEASE, runIds: ids(1) })).runs;
      expect(retry).toMatchObject({ id: run.id, attempt: 2, scheduledAt: now - 1_000 });
      await harness.advance(PAST_LEASE);
      const last = await backend.reapStalledRuns();
      expect(last).toEqual([
        { key: '/stall', id: run.id, kind: 'slot', scheduledAt: now - 1_000, attempt: 2, instanceId: 'dead-2', requeued: false },
      ]);
      expect(await backend.nextDueAt()).toBeNull();
      expect(await stored('/stall')).toMatchObject({ runCount: 2, failCount: 2, activeRuns: 0 });
      expect(await backend.reapStalledRuns()).toEqual([]);
    });

    it('finishes a stalled slot run that did not ask to be requeued', async () => {
      const now = await backend.time();
      await upsert('/noreq');
      const run = await claimOk('/noreq', now - 1_000, { requeueOnStall: false, maxAttempts: 5 });
      await harness.advance(PAST_LEASE);
      const [reaped] = await backend.reapStalledRuns();
      expect(reaped).toMatchObject({ id: run.id, requeued: false });
      expect(await backend.nextDueAt()).toBeNull();
      expect((await backend.claimDueRuns({ instanceId: 'instance-a', leaseMs: LEASE, runIds: ids(1) })).runs).toEqual([]);
    });

    it('a stalled one-off run is retried, and once out of attempts kept as done for its id', async () => {
      const now = await backend.time();
      await upsert('/trigstall');
      await enqueue('/trigstall', 'once', now - 1_000, { maxAttempts: 2 });
      (await backend.claimDueRuns({ instanceId: 'dead-1', leaseMs: LEASE, runIds: ids(1) })).runs;
      await harness.advance(PAST_LEASE);
      expect((await backend.reapStalledRuns()).map((r) => [r.kind, r.attempt, r.requeued])).toEqual([
        ['trigger', 1, true],
      ]);
      const [second] = (await backend.claimDueRuns({ instanceId: 'dead-2', leaseMs: LEASE, runIds: ids(1) })).runs;
      expect(second).toMatchObject({ id: 'once', attempt: 2 });
      await harness.advance(PAST_LEASE);
      expect((await backend.reapStalledRuns()).map((r) => [r.kind, r.attempt, r.requeued])).toEqual([
        ['trigger', 2, false],
      ]);
      const again = await enqueue('/trigstall', 'once', now);
      expect(again.created).toBe(false);
      expect(again.run).toMatchObject({ state: 'done', outcome: 'stalled', attempt: 2 });
    });

    // Instances heartbeat every HEARD_TTL / 6 below, well inside the "heard from"
    // half-TTL, so a slow machine does not turn a pause between calls into an outage.
    const HEARD_TTL = 1_200;
    async function heardEvery(ms: number, times: number): Promise<void> {
      for (let i = 0; i < times; i++) {
        await harness.advance(ms);
        await backend.heartbeatInstance('live', HEARD_TTL);
      }
    }

    it('reaps the expired lease of a dead instance while the others keep heartbeating', async () => {
      const now = await backend.time();
      await upsert('/dead');
      await backend.heartbeatInstance('live', HEARD_TTL);
      const run = await claimOk('/dead', now - 1_000, { instanceId: 'dead-1' });
      await heardEvery(HEARD_TTL / 6, 3); // 600 ms > PAST_LEASE
      expect(await backend.reapStalledRuns()).toMatchObject([{ id: run.id, instanceId: 'dead-1' }]);
    });

    it('after nobody was heard from for over half a lease (an outage), gives expired leases one more lease before reaping', async () => {
      const now = await backend.time();
      await backend.upsertJobs([jobUpsert('/alive'), jobUpsert('/died')]);
      await backend.heartbeatInstance('live', HEARD_TTL);
      const alive = await claimOk('/alive', now - 1_000, { instanceId: 'holder' });
      const died = await claimOk('/died', now - 1_000, { instanceId: 'dead-1' });
      // Silence: the store was frozen, say. Both leases run out meanwhile.
      await harness.advance(HEARD_TTL / 2 + 150);
      // A reaper that runs before any heartbeat after the silence leaves them alone...
      expect(await backend.reapStalledRuns()).toEqual([]);
      // ...and so does every reaper for one TTL after the first heartbeat.
      await backend.heartbeatInstance('live', HEARD_TTL);
      expect(await backend.reapStalledRuns()).toEqual([]);
      // The live holder records its own outcome in that time.
      expect(await backend.finishRun(finishOf(alive, { outcome: 'lock-lost', error: 'lost' }))).toEqual({ recorded: true });
      await heardEvery(HEARD_TTL / 6, 3);
      expect(await backend.reapStalledRuns()).toEqual([]);
      // Then the run nobody spoke for is reaped as usual.
      await heardEvery(HEARD_TTL / 6, 4);
      expect(await backend.reapStalledRuns()).toMatchObject([{ id: died.id, instanceId: 'dead-1' }]);
      expect((await backend.history('/alive', 5)).map((h) => h.outcome)).toEqual(['lock-lost']);
      expect((await backend.history('/died', 5)).map((h) => h.outcome)).toEqual(['stalled']);
    });
  });
}
