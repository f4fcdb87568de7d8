import { describe, expect, it } from 'vitest';
import type { Backend, SlotClaimResult } from '../backend/backend.js';
import { jobStatus } from '../backend/job-status.js';
import { LEASE, MINUTE, type BackendSuiteContext } from './backend-suite-context.js';
import type { BackendHarness } from './harness.js';

/**
 * Scheduled slots: `claimSlot` answers (claimed, taken, early, completed,
 * paused, removed, superseded) and each overlap policy (skip, buffer-one,
 * queue, allow), and `claimSlots` as many `claimSlot` calls in one.
 */
export function describeSlotClaims(suite: BackendSuiteContext): void {
  const { upsert, slotClaim, claimOk, finishOf, ids, stored } = suite;
  let backend: Backend;
  let harness: BackendHarness;
  suite.onHarness((current) => {
    backend = current.backend;
    harness = current;
  });

  describe('claimSlot', () => {
    it('claims a due slot: the run, lastSlot, slotCount, fence and nextRunAt', async () => {
      const now = await backend.time();
      await upsert('/c', { nextRunAt: now - 2_000 });
      const claim = slotClaim('/c', now - 2_000, { nextRunAt: now + MINUTE, overlap: 'allow' });
      const result = await backend.claimSlot(claim);
      const after = await backend.time();
      expect(result.status).toBe('claimed');
      const run = (result as Extract<SlotClaimResult, { status: 'claimed' }>).run;
      expect(run).toMatchObject({
        runId: claim.runId,
        id: claim.runId,
        key: '/c',
        kind: 'slot',
        scheduledAt: now - 2_000,
        attempt: 1,
        params: undefined,
        exclusive: false,
        fencingToken: 1,
      });
      expect(run.claimedAt).toBeGreaterThanOrEqual(now);
      expect(run.claimedAt).toBeLessThanOrEqual(after);
      expect(await stored('/c')).toMatchObject({
        lastSlot: now - 2_000,
        slotCount: 1,
        fence: 1,
        nextRunAt: now + MINUTE,
        completed: false,
        activeRuns: 1,
      });

      const second = await claimOk('/c', now - 1_000, { nextRunAt: now + 2 * MINUTE, overlap: 'allow' });
      expect(second.fencingToken).toBe(2);
      expect(await stored('/c')).toMatchObject({ lastSlot: now - 1_000, slotCount: 2, fence: 2, activeRuns: 2 });
    });

    it('marks exclusive runs for skip and buffer-one', async () => {
      const now = await backend.time();
      await upsert('/ex1');
      await upsert('/ex2');
      expect((await claimOk('/ex1', now - 1, { overlap: 'skip' })).exclusive).toBe(true);
      expect((await claimOk('/ex2', now - 1, { overlap: 'buffer-one' })).exclusive).toBe(true);
    });

    it('answers taken for a slot already claimed and for an older slot', async () => {
      const now = await backend.time();
      await upsert('/t');
      await claimOk('/t', now - 5_000, { overlap: 'allow' });
      expect((await backend.claimSlot(slotClaim('/t', now - 5_000, { overlap: 'allow' }))).status).toBe('taken');
      expect((await backend.claimSlot(slotClaim('/t', now - 9_000, { overlap: 'allow' }))).status).toBe('taken');
      const s = await stored('/t');
      expect(s.slotCount).toBe(1);
      expect(s.fence).toBe(1);
    });

    it('records previous slots nobody claimed as skipped with reason missed, once, and makes them taken', async () => {
      const created = (await upsert('/gap')).createdAt;
      await harness.advance(5_000);
      const [s1, s2, s3, s4, s5] = [1_000, 2_000, 3_000, 4_000, 5_000].map((ms) => created + ms) as [number, number, number, number, number];
      // A previous slot from before the job existed is nobody's miss.
      await claimOk('/gap', s1, { overlap: 'allow', previousSlots: [created - 1_000] });
      expect(await backend.history('/gap', 10)).toEqual([]);
      await claimOk('/gap', s4, { overlap: 'allow', previousSlots: [s3, s2, s1], instanceId: 'instance-b' });
      const missed = (slot: number) => ({ runId: `missed-${slot}`, id: `missed-${slot}`, kind: 'slot', scheduledAt: slot, outcome: 'skipped', reason: 'missed', instanceId: 'instance-b', attempt: 1 });
      expect(await backend.history('/gap', 10)).toMatchObject([missed(s3), missed(s2)]);
      expect((await backend.claimSlot(slotClaim('/gap', s2, { overlap: 'allow' }))).status).toBe('taken');
      expect((await backend.claimSlot(slotClaim('/gap', s3, { overlap: 'allow' }))).status).toBe('taken');
      // Previous slots that were claimed (or recorded) are not recorded again.
      await claimOk('/gap', s5, { overlap: 'allow', previousSlots: [s4, s3] });
      expect(await backend.history('/gap', 10)).toMatchObject([missed(s3), missed(s2)]);
      expect(await stored('/gap')).toMatchObject({ lastSlot: s5, slotCount: 3 });
    });

    it('exactly one of ten concurrent claims of one slot wins', async () => {
      const now = await backend.time();
      await upsert('/race');
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          backend.claimSlot(slotClaim('/race', now - 1_000, { instanceId: `instance-${i}` })),
        ),
      );
      const statuses = results.map((r) => r.status);
      expect(statuses.filter((s) => s === 'claimed')).toHaveLength(1);
      expect(statuses.filter((s) => s === 'taken')).toHaveLength(9);
      expect((await stored('/race')).fence).toBe(1);
    });

    it('answers early (by backend time) for a future slot without consuming it', async () => {
      const now = await backend.time();
      await upsert('/early');
      const result = await backend.claimSlot(slotClaim('/early', now + MINUTE));
      expect(result.status).toBe('early');
      const retryInMs = (result as Extract<SlotClaimResult, { status: 'early' }>).retryInMs;
      expect(retryInMs).toBeGreaterThan(MINUTE - 5_000);
      expect(retryInMs).toBeLessThanOrEqual(MINUTE);
      expect((await stored('/early')).lastSlot).toBeNull();
      expect((await backend.claimSlot(slotClaim('/early', now - 1))).status).toBe('claimed');
    });

    it('marks the job completed when nextRunAt is null, then answers completed', async () => {
      const now = await backend.time();
      await upsert('/once', { schedule: { kind: 'once', at: new Date(now - 1_000).toISOString() } });
      const run = await claimOk('/once', now - 1_000, { nextRunAt: null });
      expect((await stored('/once')).completed).toBe(true);
      await backend.finishRun(finishOf(run));
      // The same slot is still a duplicate; a later one finds the job completed.
      expect((await backend.claimSlot(slotClaim('/once', now - 1_000))).status).toBe('taken');
      expect((await backend.claimSlot(slotClaim('/once', now - 500))).status).toBe('completed');
      // Completed wins over paused.
      await backend.setPaused('/once', true);
      expect((await backend.claimSlot(slotClaim('/once', now - 400))).status).toBe('completed');
      expect((await stored('/once')).slotCount).toBe(1);
    });

    it('marks the job completed when slotCount reaches the limit', async () => {
      const now = await backend.time();
      await upsert('/limited', { limit: 2 });
      await claimOk('/limited', now - 3_000, { overlap: 'allow' });
      expect((await stored('/limited')).completed).toBe(false);
      await claimOk('/limited', now - 2_000, { overlap: 'allow' });
      expect(await stored('/limited')).toMatchObject({ completed: true, slotCount: 2 });
      expect((await backend.claimSlot(slotClaim('/limited', now - 1_000, { overlap: 'allow' }))).status).toBe('completed');
      expect((await stored('/limited')).slotCount).toBe(2);
    });

    it('consumes the slot of a paused job without running it', async () => {
      const now = await backend.time();
      await upsert('/paused');
      await backend.setPaused('/paused', true);
      expect((await backend.claimSlot(slotClaim('/paused', now - 2_000, { nextRunAt: now + MINUTE }))).status).toBe(
        'paused',
      );
      expect(await stored('/paused')).toMatchObject({
        lastSlot: now - 2_000,
        nextRunAt: now + MINUTE,
        slotCount: 0,
        fence: 0,
        activeRuns: 0,
        completed: false,
      });
      expect((await backend.claimSlot(slotClaim('/paused', now - 2_000))).status).toBe('taken');
      // A paused job's last slot ends it.
      expect((await backend.claimSlot(slotClaim('/paused', now - 1_000, { nextRunAt: null }))).status).toBe('paused');
      expect((await stored('/paused')).completed).toBe(true);
    });

    it('answers removed for a job never stored', async () => {
      expect((await backend.claimSlot(slotClaim('/ghost', (await backend.time()) - 1))).status).toBe('removed');
      expect(await backend.getJob('/ghost')).toBeNull();
    });

    it('answers superseded, with the stored job, when a newer definition is stored', async () => {
      const now = await backend.time();
      await upsert('/sup', { definitionHash: 'h1', definedAt: 1_000 });
      await upsert('/sup', { definitionHash: 'h2', definedAt: 2_000 });
      const result = await backend.claimSlot(slotClaim('/sup', now - 1_000, { definitionHash: 'h1' }));
      expect(result.status).toBe('superseded');
      expect((result as Extract<SlotClaimResult, { status: 'superseded' }>).stored.definitionHash).toBe('h2');
      // Superseded is decided before the slot time: a future slot is superseded too.
      expect((await backend.claimSlot(slotClaim('/sup', now + MINUTE, { definitionHash: 'h1' }))).status).toBe(
        'superseded',
      );
      expect((await stored('/sup')).lastSlot).toBeNull();
      expect((await backend.claimSlot(slotClaim('/sup', now - 1_000, { definitionHash: 'h2' }))).status).toBe('claimed');
    });

    it('skip: a slot due while an exclusive run is active is skipped and recorded', async () => {
      const now = await backend.time();
      await upsert('/skip');
      await claimOk('/skip', now - 2_000);
      const claim = slotClaim('/skip', now - 1_000, { instanceId: 'instance-b', nextRunAt: now + MINUTE });
      expect((await backend.claimSlot(claim)).status).toBe('skipped');
      expect(await stored('/skip')).toMatchObject({
        skippedCount: 1,
        lastSlot: now - 1_000,
        nextRunAt: now + MINUTE,
        slotCount: 1,
        fence: 1,
        activeRuns: 1,
        runCount: 0,
      });
      const [entry] = await backend.history('/skip', 10);
      expect(entry).toEqual({
        runId: claim.runId,
        id: claim.runId,
        kind: 'slot',
        scheduledAt: now - 1_000,
        startedAt: null,
        finishedAt: null,
        outcome: 'skipped',
        reason: 'overlap',
        error: null,
        instanceId: 'instance-b',
        attempt: 1,
      });
      // The skipped slot is consumed.
      expect((await backend.claimSlot(slotClaim('/skip', now - 1_000))).status).toBe('taken');
    });

    it('buffer-one: buffers exactly one slot, skips the next, and runs the buffered one after the active run', async () => {
      const now = await backend.time();
      await upsert('/buf');
      const first = await claimOk('/buf', now - 3_000, { overlap: 'buffer-one' });

      const bufferClaim = slotClaim('/buf', now - 2_000, { overlap: 'buffer-one' });
      const buffered = await backend.claimSlot(bufferClaim);
      expect(buffered.status).toBe('buffered');
      expect((buffered as Extract<SlotClaimResult, { status: 'buffered' }>).run).toEqual({
        id: bufferClaim.runId,
        key: '/buf',
        kind: 'slot',
        state: 'pending',
        scheduledAt: now - 2_000,
        dueAt: now - 2_000,
        attempt: 1,
        outcome: null,
      });
      expect(await stored('/buf')).toMatchObject({ lastSlot: now - 2_000, slotCount: 2, fence: 1, skippedCount: 0 });

      expect((await backend.claimSlot(slotClaim('/buf', now - 1_000, { overlap: 'buffer-one' }))).status).toBe('skipped');
      expect(await stored('/buf')).toMatchObject({ lastSlot: now - 1_000, slotCount: 2, skippedCount: 1 });

      // The buffered run waits for the active exclusive run.
      expect((await backend.claimDueRuns({ instanceId: 'instance-b', leaseMs: LEASE, runIds: ids(3) })).runs).toEqual([]);
      expect(await backend.finishRun(finishOf(first))).toEqual({ recorded: true });

      const runIds = ids(3);
      const claimed = (await backend.claimDueRuns({ instanceId: 'instance-b', leaseMs: LEASE, runIds })).runs;
      expect(claimed).toHaveLength(1);
      expect(claimed[0]).toMatchObject({
        runId: runIds[0],
        id: bufferClaim.runId,
        key: '/buf',
        kind: 'slot',
        scheduledAt: now - 2_000,
        attempt: 1,
        exclusive: true,
        fencingToken: 2,
      });
      // The buffer is free again.
      expect((await backend.claimSlot(slotClaim('/buf', now - 500, { overlap: 'buffer-one' }))).status).toBe('buffered');
    });

    it('queue: every slot due while a run is active waits, and they run one at a time in slot order', async () => {
      const now = await backend.time();
      await upsert('/queue');
      const first = await claimOk('/queue', now - 4_000, { overlap: 'queue' });
      expect(first.exclusive).toBe(true);
      for (const slot of [now - 3_000, now - 2_000, now - 1_000]) {
        expect((await backend.claimSlot(slotClaim('/queue', slot, { overlap: 'queue' }))).status).toBe('buffered');
      }
      expect(await stored('/queue')).toMatchObject({ slotCount: 4, skippedCount: 0, lastSlot: now - 1_000 });

      let current = first;
      const ran: number[] = [];
      for (let i = 0; i < 3; i++) {
        expect((await backend.claimDueRuns({ instanceId: 'instance-a', leaseMs: LEASE, runIds: ids(5) })).runs).toEqual([]);
        await backend.finishRun(finishOf(current));
        const next = (await backend.claimDueRuns({ instanceId: 'instance-a', leaseMs: LEASE, runIds: ids(5) })).runs;
        expect(next).toHaveLength(1);
        expect(next[0]!.exclusive).toBe(true);
        ran.push(next[0]!.scheduledAt);
        current = next[0]!;
      }
      expect(ran).toEqual([now - 3_000, now - 2_000, now - 1_000]);
    });

    it('allow: slots run concurrently', async () => {
      const now = await backend.time();
      await upsert('/allow');
      const a = await claimOk('/allow', now - 2_000, { overlap: 'allow' });
      const b = await claimOk('/allow', now - 1_000, { overlap: 'allow' });
      expect(b.fencingToken).toBeGreaterThan(a.fencingToken);
      const s = await stored('/allow');
      expect(s.activeRuns).toBe(2);
      expect(s.skippedCount).toBe(0);
      expect(jobStatus(s)).toBe('running');
    });
  });

  describe('claimSlots', () => {
    it('answers one result per claim, in order, each as claimSlot would', async () => {
      const now = await backend.time();
      await upsert('/b1');
      await upsert('/b2', { definitionHash: 'h2' });
      const results = await backend.claimSlots([
        slotClaim('/b1', now - 3_000),
        slotClaim('/missing', now - 3_000),
        slotClaim('/b2', now - 3_000),
        slotClaim('/b1', now + MINUTE),
      ]);
      expect(results.map((r) => r.status)).toEqual(['claimed', 'removed', 'superseded', 'early']);
      expect((await stored('/b1')).lastSlot).toBe(now - 3_000);
      expect((await stored('/b2')).lastSlot).toBeNull();
    });

    it('claims of one job in one call see each other: the second slot of a busy exclusive job is buffered, a repeated slot is taken', async () => {
      const now = await backend.time();
      await upsert('/seq');
      const first = slotClaim('/seq', now - 2_000, { overlap: 'buffer-one' });
      const results = await backend.claimSlots([
        first,
        slotClaim('/seq', now - 2_000, { overlap: 'buffer-one' }),
        slotClaim('/seq', now - 1_000, { overlap: 'buffer-one' }),
      ]);
      expect(results.map((r) => r.status)).toEqual(['claimed', 'taken', 'buffered']);
      const s = await stored('/seq');
      expect(s).toMatchObject({ lastSlot: now - 1_000, slotCount: 2, fence: 1, activeRuns: 1 });
    });

    it('gives each claimed run its own fencing token and counts every slot', async () => {
      const now = await backend.time();
      await upsert('/many');
      const claims = Array.from({ length: 20 }, (_, i) => slotClaim('/many', now - 20_000 + i * 1_000, { overlap: 'allow' }));
      const results = await backend.claimSlots(claims);
      const tokens = results.map((r) => (r.status === 'claimed' ? r.run.fencingToken : Number.NaN));
      expect(tokens).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      expect(await stored('/many')).toMatchObject({ slotCount: 20, fence: 20, activeRuns: 20, lastSlot: now - 1_000 });
    });

    it('with no claims answers nothing and changes nothing', async () => {
      expect(await backend.claimSlots([])).toEqual([]);
    });
  });
}
