import { describe, expect, it } from 'vitest';
import type { Backend, RateLimit, SlotClaimResult } from '../backend/backend.js';
import { MINUTE, type BackendSuiteContext } from './backend-suite-context.js';
import { SchedkitError } from '../errors/schedkit-error.js';
import { jobUpsert, rejection, type BackendHarness } from './harness.js';

/** The rate-limit window of these tests: short, so a backend on a real clock waits it out. */
const WINDOW = 400;

/**
 * What a job definition asks of the backend beyond its schedule: a run on
 * start (`runOnStart`, once per fleet), rate limits (`rateLimit`, in slot
 * claims and due-run claims, shared by key) and slots skipped by an exclusion
 * (`skip: 'excluded'`) or by a rate limit with no room before the next slot
 * (`skip: 'rate-limited'`), plus the reason recorded with each skip.
 */
export function describeJobFeatures(suite: BackendSuiteContext): void {
  const { upsert, slotClaim, claimOk, enqueue, ids, stored } = suite;
  let backend: Backend;
  let harness: BackendHarness;
  suite.onHarness((current) => {
    harness = current;
    backend = current.backend;
  });

  const limit = (max: number, key = 'api'): RateLimit => ({ key, max, perMs: WINDOW });

  describe('runOnStart', () => {
    it('the upsert that creates the job enqueues one on-start run, due now; later upserts none', async () => {
      const before = await backend.time();
      const [first] = await backend.upsertJobs([jobUpsert('acme/start', { runOnStart: { maxAttempts: 2 } })]);
      const after = await backend.time();
      expect(first!.created).toBe(true);
      const run = await backend.getRun({ key: 'acme/start', id: 'on-start' });
      expect(run).toMatchObject({ id: 'on-start', kind: 'trigger', state: 'pending', attempt: 1, params: undefined, cancelRequested: false });
      expect(run!.dueAt).toBeGreaterThanOrEqual(before);
      expect(run!.dueAt).toBeLessThanOrEqual(after);
      expect(run!.scheduledAt).toBe(run!.dueAt);
      const [again] = await backend.upsertJobs([jobUpsert('acme/start', { runOnStart: { maxAttempts: 2 }, definitionHash: 'h2', definedAt: 2_000 })]);
      expect(again!.created).toBe(false);
      expect((await backend.listRuns({ key: 'acme/start', limit: 10 })).runs).toHaveLength(1);
      const [claimed] = (await backend.claimDueRuns({ instanceId: 'instance-a', leaseMs: MINUTE, runIds: ids(2) })).runs;
      expect(claimed).toMatchObject({ key: 'acme/start', id: 'on-start', kind: 'trigger', attempt: 1 });
      await backend.upsertJobs([jobUpsert('acme/start', { runOnStart: { maxAttempts: 2 } })]);
      expect(await backend.nextDueAt()).toBeNull();
    });

    it('concurrent upserts of one new job create one on-start run', async () => {
      const results = await Promise.all(
        Array.from({ length: 6 }, () => backend.upsertJobs([jobUpsert('/fleet', { runOnStart: { maxAttempts: 1 }, definedAt: null })])),
      );
      expect(results.filter(([r]) => r!.created)).toHaveLength(1);
      expect((await backend.listRuns({ key: '/fleet', limit: 10 })).runs.map((r) => r.id)).toEqual(['on-start']);
      const claimed = (await backend.claimDueRuns({ instanceId: 'instance-a', leaseMs: MINUTE, runIds: ids(5) })).runs;
      expect(claimed.map((r) => r.id)).toEqual(['on-start']);
    });

    it('each job of a tenant gets its own on-start run; by tenant and id, the first job created holds the id', async () => {
      await backend.upsertJobs([
        jobUpsert('acme/one', { runOnStart: { maxAttempts: 1 } }),
        jobUpsert('acme/two', { runOnStart: { maxAttempts: 1 } }),
        jobUpsert('acme/none'),
      ]);
      expect(await backend.getRun({ key: 'acme/one', id: 'on-start' })).toMatchObject({ state: 'pending' });
      expect(await backend.getRun({ key: 'acme/two', id: 'on-start' })).toMatchObject({ state: 'pending' });
      expect(await backend.getRun({ key: 'acme/none', id: 'on-start' })).toBeNull();
      expect(await backend.getRun({ tenantId: 'acme', id: 'on-start' })).toMatchObject({ key: 'acme/one' });
      const now = await backend.time();
      expect(SchedkitError.is(await rejection(suite.enqueue('acme/none', 'on-start', now)), 'E_INVALID_ARGUMENT')).toBe(true);
      // Removing the holder frees the id; the other job's on-start run stays where it is.
      await backend.removeJob('acme/one');
      expect(await backend.getRun({ tenantId: 'acme', id: 'on-start' })).toBeNull();
      expect(await backend.getRun({ key: 'acme/two', id: 'on-start' })).toMatchObject({ state: 'pending' });
    });
  });

  describe('rateLimit', () => {
    it('is stored with the job: the latest upsert\'s value', async () => {
      expect((await upsert('/rl', { rateLimit: limit(3) })).rateLimit).toEqual(limit(3));
      expect((await stored('/rl')).rateLimit).toEqual(limit(3));
      expect((await upsert('/rl', { rateLimit: limit(5, 'other') })).rateLimit).toEqual(limit(5, 'other'));
      expect((await upsert('/rl', { rateLimit: null })).rateLimit).toBeNull();
      expect((await upsert('/plain')).rateLimit).toBeNull();
    });

    it('claimSlot answers limited when the window is full and changes nothing; later it claims', async () => {
      const now = await backend.time();
      await upsert('/rl-slot', { rateLimit: limit(1) });
      await claimOk('/rl-slot', now - 3_000, { overlap: 'allow' });
      const before = await stored('/rl-slot');
      const result = await backend.claimSlot(slotClaim('/rl-slot', now - 2_000, { overlap: 'allow' }));
      expect(result.status).toBe('limited');
      const retryInMs = (result as Extract<SlotClaimResult, { status: 'limited' }>).retryInMs;
      expect(retryInMs).toBeGreaterThan(0);
      expect(retryInMs).toBeLessThanOrEqual(WINDOW);
      expect({ ...(await stored('/rl-slot')), lastSeenAt: before.lastSeenAt }).toEqual(before);
      expect(await backend.history('/rl-slot', 10)).toEqual([]);
      // Limited again in one batch, the limit is not taken by a claim that did not run.
      const batch = await backend.claimSlots([
        slotClaim('/rl-slot', now - 2_000, { overlap: 'allow' }),
        slotClaim('/rl-slot', now - 1_000, { overlap: 'allow' }),
      ]);
      expect(batch.map((r) => r.status)).toEqual(['limited', 'limited']);
      await harness.advance(retryInMs + 50);
      const later = await backend.claimSlots([
        slotClaim('/rl-slot', now - 2_000, { overlap: 'allow' }),
        slotClaim('/rl-slot', now - 1_000, { overlap: 'allow' }),
      ]);
      expect(later.map((r) => r.status)).toEqual(['claimed', 'limited']);
      expect(await stored('/rl-slot')).toMatchObject({ lastSlot: now - 2_000, slotCount: 2, activeRuns: 2 });
    });

    it('claimDueRuns starts at most max runs per window; the rest stay pending, due when the window has room', async () => {
      const now = await backend.time();
      await upsert('/rl-due', { rateLimit: limit(2) });
      await upsert('/free');
      for (let i = 0; i < 5; i++) await enqueue('/rl-due', `r${i}`, now - 5_000 + i);
      await enqueue('/free', 'f', now - 1_000);
      const first = (await backend.claimDueRuns({ instanceId: 'instance-a', leaseMs: MINUTE, runIds: ids(10) })).runs;
      // The claim goes on past the limited runs.
      expect(first.map((r) => `${r.key}:${r.id}`)).toEqual(['/rl-due:r0', '/rl-due:r1', '/free:f']);
      const claimedAt = first[0]!.claimedAt;
      const waiting = (await backend.listRuns({ key: '/rl-due', state: 'pending', limit: 10 })).runs;
      expect(waiting.map((r) => r.id)).toEqual(['r2', 'r3', 'r4']);
      for (const run of waiting) {
        expect(run.dueAt).toBeGreaterThan(claimedAt);
        expect(run.dueAt).toBeLessThanOrEqual(claimedAt + WINDOW + 50);
        expect(run.scheduledAt).toBeLessThan(now);
      }
      const nextDue = await backend.nextDueAt();
      expect(nextDue).toBeGreaterThan(claimedAt);
      expect(nextDue).toBeLessThanOrEqual(claimedAt + WINDOW + 50);
      expect((await backend.claimDueRuns({ instanceId: 'instance-a', leaseMs: MINUTE, runIds: ids(10) })).runs).toEqual([]);
      await harness.advance(WINDOW + 50);
      const second = (await backend.claimDueRuns({ instanceId: 'instance-b', leaseMs: MINUTE, runIds: ids(10) })).runs;
      expect(second.map((r) => r.id)).toEqual(['r2', 'r3']);
      expect((await backend.listRuns({ key: '/rl-due', state: 'pending', limit: 10 })).runs.map((r) => r.id)).toEqual(['r4']);
    });

    it('is shared by every job naming the same key', async () => {
      const now = await backend.time();
      await upsert('/shared-a', { rateLimit: limit(2) });
      await upsert('/shared-b', { rateLimit: limit(2) });
      await upsert('/own', { rateLimit: limit(2, 'own') });
      await enqueue('/shared-a', 'a', now - 3_000);
      await enqueue('/shared-b', 'b1', now - 2_000);
      await enqueue('/shared-b', 'b2', now - 1_000);
      await enqueue('/own', 'o', now - 1_000);
      const claimed = (await backend.claimDueRuns({ instanceId: 'instance-a', leaseMs: MINUTE, runIds: ids(10) })).runs;
      expect(claimed.map((r) => r.id)).toEqual(['a', 'b1', 'o']);
      // The window is full for slot claims of another job with that key too.
      expect((await backend.claimSlot(slotClaim('/shared-a', now - 500, { overlap: 'allow' }))).status).toBe('limited');
      expect((await backend.claimSlot(slotClaim('/own', now - 500, { overlap: 'allow' }))).status).toBe('claimed');
    });
  });

  describe('excluded slots', () => {
    it('are consumed without running: skipped, recorded with reason excluded, not counted toward limit', async () => {
      const now = await backend.time();
      await upsert('/ex', { limit: 1 });
      const claim = slotClaim('/ex', now - 2_000, { skip: 'excluded', nextRunAt: now - 1_000, instanceId: 'instance-b' });
      expect(await backend.claimSlot(claim)).toEqual({ status: 'skipped' });
      expect(await stored('/ex')).toMatchObject({
        lastSlot: now - 2_000,
        nextRunAt: now - 1_000,
        slotCount: 0,
        skippedCount: 1,
        completed: false,
        activeRuns: 0,
        runCount: 0,
      });
      expect(await backend.history('/ex', 10)).toEqual([
        {
          runId: claim.runId,
          id: claim.runId,
          kind: 'slot',
          scheduledAt: now - 2_000,
          startedAt: null,
          finishedAt: null,
          outcome: 'skipped',
          reason: 'excluded',
          error: null,
          instanceId: 'instance-b',
          attempt: 1,
        },
      ]);
      expect((await backend.claimSlot(slotClaim('/ex', now - 2_000, { skip: 'excluded' }))).status).toBe('taken');
      expect((await backend.claimSlot(slotClaim('/ex', now - 2_000))).status).toBe('taken');
      // The limit of one is still there for a slot that runs.
      await claimOk('/ex', now - 1_000);
      expect(await stored('/ex')).toMatchObject({ slotCount: 1, completed: true });
    });

    it('an excluded last slot completes the job', async () => {
      const now = await backend.time();
      await upsert('/ex-last');
      expect((await backend.claimSlot(slotClaim('/ex-last', now - 1_000, { skip: 'excluded', nextRunAt: null }))).status).toBe('skipped');
      expect(await stored('/ex-last')).toMatchObject({ completed: true, nextRunAt: null, slotCount: 0 });
    });

    it('are skipped even when the rate limit is full', async () => {
      const now = await backend.time();
      await upsert('/ex-rl', { rateLimit: limit(1, 'ex-rl') });
      await claimOk('/ex-rl', now - 3_000, { overlap: 'allow' });
      expect((await backend.claimSlot(slotClaim('/ex-rl', now - 2_000, { overlap: 'allow', skip: 'excluded' }))).status).toBe('skipped');
      expect((await backend.history('/ex-rl', 1))[0]).toMatchObject({ outcome: 'skipped', reason: 'excluded' });
    });
  });

  describe('slots skipped by the rate limit', () => {
    it('are consumed, recorded once with reason rate-limited, not counted toward limit, and take no room', async () => {
      const now = await backend.time();
      await upsert('/rl-skip', { rateLimit: limit(2, 'rl-skip') });
      await claimOk('/rl-skip', now - 4_000, { overlap: 'allow' });
      const claim = slotClaim('/rl-skip', now - 3_000, { overlap: 'allow', skip: 'rate-limited', instanceId: 'instance-b' });
      expect(await backend.claimSlot(claim)).toEqual({ status: 'skipped' });
      expect((await backend.history('/rl-skip', 1))[0]).toMatchObject({ runId: claim.runId, outcome: 'skipped', reason: 'rate-limited', instanceId: 'instance-b' });
      expect(await stored('/rl-skip')).toMatchObject({ lastSlot: now - 3_000, slotCount: 1, skippedCount: 1 });
      // Recorded once: another instance's skip or claim of the same slot is taken.
      expect((await backend.claimSlot(slotClaim('/rl-skip', now - 3_000, { overlap: 'allow', skip: 'rate-limited' }))).status).toBe('taken');
      expect((await backend.claimSlot(slotClaim('/rl-skip', now - 3_000, { overlap: 'allow' }))).status).toBe('taken');
      // The skip took no room: the second place of the window is still free, the third is not.
      await claimOk('/rl-skip', now - 2_000, { overlap: 'allow' });
      expect((await backend.claimSlot(slotClaim('/rl-skip', now - 1_000, { overlap: 'allow' }))).status).toBe('limited');
      expect(await stored('/rl-skip')).toMatchObject({ slotCount: 2, skippedCount: 1 });
    });
  });

  describe('skip reasons', () => {
    it('records overlap for a slot skipped behind an active run (skip, full buffer-one)', async () => {
      const now = await backend.time();
      await upsert('/reason');
      await claimOk('/reason', now - 3_000, { overlap: 'buffer-one' });
      expect((await backend.claimSlot(slotClaim('/reason', now - 2_000, { overlap: 'buffer-one' }))).status).toBe('buffered');
      expect((await backend.claimSlot(slotClaim('/reason', now - 1_000, { overlap: 'buffer-one' }))).status).toBe('skipped');
      expect((await backend.claimSlot(slotClaim('/reason', now - 500, { overlap: 'skip' }))).status).toBe('skipped');
      expect((await backend.history('/reason', 10)).map((e) => [e.outcome, e.reason])).toEqual([
        ['skipped', 'overlap'],
        ['skipped', 'overlap'],
      ]);
    });
  });
}
