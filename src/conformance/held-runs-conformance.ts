import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Backend, ClaimedRun, SlotClaim } from '../backend/backend.js';
import { KeyTable } from '../backend/key-table.js';
import { SchedkitError } from '../errors/schedkit-error.js';
import { jobUpsert, rejection, type BackendHarness } from './harness.js';

const LEASE = 300;
const PAST_LEASE = 450;
/** More than any backend handles in one store call (Redis: 1,000 runs, 2,000 active runs read), so the chunking shows. */
const MANY = 2_500;

/**
 * The backend contract where runs are held back and where one call meets
 * many runs: a paused job's backlog and exclusive catch-ups wait out of the
 * due index and come back in due order; removing a job, reaping and giving
 * back claims reach every run however many there are (backends may work in
 * chunks). Run it next to `describeBackendConformance`, with the same harness.
 *
 * `makeHarness` is called before every test and must answer a fresh backend
 * in its own namespace, an `advance(ms)` that moves the backend's time
 * forward by `ms` (a fake clock, or a real wait), and a `close()` that frees
 * what the harness started. Some tests store a few thousand runs.
 *
 * It registers vitest tests (a `describe` named
 * `Backend conformance, held and many runs: <label>`), so call it at the top
 * level of a vitest test file.
 */
export function describeHeldRunsConformance(label: string, makeHarness: () => Promise<BackendHarness>): void {
  describe(`Backend conformance, held and many runs: ${label}`, () => {
    let harness: BackendHarness;
    let backend: Backend;

    beforeEach(async () => {
      harness = await makeHarness();
      backend = harness.backend;
    });

    afterEach(async () => {
      await harness.close();
    });

    const ids = (count: number) => Array.from({ length: count }, () => randomUUID());
    const claimDue = async (count: number, keys?: KeyTable<true>) =>
      (await backend.claimDueRuns({ instanceId: 'instance-a', leaseMs: LEASE, runIds: ids(count), keys })).runs;
    const enqueue = (key: string, id: string, dueAt: number) =>
      backend.enqueueRun({ key, id, kind: 'trigger', dueAt, params: undefined, maxAttempts: 1 });
    const finish = (run: ClaimedRun) =>
      backend.finishRun({ key: run.key, id: run.id, fencingToken: run.fencingToken, instanceId: 'instance-a', outcome: 'success', error: null, durationMs: 5 });
    const slotClaim = (key: string, slot: number, overlap: SlotClaim['overlap']): SlotClaim => ({
      key, slot, runId: randomUUID(), instanceId: 'instance-a', leaseMs: LEASE, definitionHash: 'h1',
      overlap, nextRunAt: slot + 60_000, requeueOnStall: false, maxAttempts: 1,
    });

    it('a paused job keeps its backlog out of claims and nextDueAt, and a resume gives it back in due order', async () => {
      const now = await backend.time();
      await backend.upsertJobs([jobUpsert('/backlog'), jobUpsert('/other')]);
      await enqueue('/backlog', 'a1', now - 5_000);
      await enqueue('/backlog', 'a2', now - 4_000);
      await backend.setPaused('/backlog', true);
      expect(await claimDue(10)).toEqual([]);
      // Enqueued while paused: held back at once.
      await enqueue('/backlog', 'a3', now - 4_500);
      await enqueue('/backlog', 'a4', now - 1_000);
      expect(await claimDue(10)).toEqual([]);
      expect(await backend.nextDueAt()).toBeNull();
      await enqueue('/other', 'o1', now - 4_200);
      expect(await backend.nextDueAt()).toBe(now - 4_200);
      expect((await backend.getJob('/backlog'))?.paused).toBe(true);
      // Resumed twice: given back once.
      await backend.setPaused('/backlog', false);
      await backend.setPaused('/backlog', false);
      expect(await backend.nextDueAt()).toBe(now - 5_000);
      const claimed = await claimDue(10);
      expect(claimed.map((r) => r.id)).toEqual(['a1', 'a3', 'o1', 'a2', 'a4']);
      expect(await backend.nextDueAt()).toBeNull();
    });

    it('a resume gives back a backlog larger than one store call', async () => {
      const now = await backend.time();
      await backend.upsertJobs([jobUpsert('/big')]);
      await backend.setPaused('/big', true);
      await Promise.all(Array.from({ length: MANY }, (_, i) => enqueue('/big', `b${i}`, now - 10_000 + i)));
      expect(await claimDue(10)).toEqual([]);
      await backend.setPaused('/big', false);
      const seen: string[] = [];
      for (let round = 0; round < 10 && seen.length < MANY; round++) seen.push(...(await claimDue(1_000)).map((r) => r.id));
      expect(seen).toEqual(Array.from({ length: MANY }, (_, i) => `b${i}`));
    });

    it('exclusive catch-ups wait for the active run, then run one at a time in slot order', async () => {
      const now = await backend.time();
      await backend.upsertJobs([jobUpsert('/catch')]);
      const first = await backend.claimSlot(slotClaim('/catch', now - 10_000, 'skip'));
      if (first.status !== 'claimed') throw new Error(`expected claimed, got ${first.status}`);
      const slots = [1, 2, 3, 4, 5].map((i) => now - 10_000 + i * 1_000);
      const results = await backend.claimSlots(slots.map((slot) => slotClaim('/catch', slot, 'queue')));
      expect(results.map((r) => r.status)).toEqual(['buffered', 'buffered', 'buffered', 'buffered', 'buffered']);
      // Nothing claimable while the exclusive run is active, and nothing due.
      expect(await claimDue(10)).toEqual([]);
      expect(await backend.nextDueAt()).toBeNull();
      let active = first.run;
      const order: number[] = [];
      for (const _ of slots) {
        await finish(active);
        const next = await claimDue(10);
        expect(next).toHaveLength(1);
        expect(await claimDue(10)).toEqual([]);
        order.push(next[0]!.scheduledAt);
        active = next[0]!;
      }
      expect(order).toEqual(slots);
      await finish(active);
      expect(await claimDue(10)).toEqual([]);
      expect(await backend.nextDueAt()).toBeNull();
    });

    it('an exclusive run that stalls or is given back lets the next waiting one run', async () => {
      const now = await backend.time();
      await backend.upsertJobs([jobUpsert('/stall')]);
      const first = await backend.claimSlot(slotClaim('/stall', now - 5_000, 'skip'));
      if (first.status !== 'claimed') throw new Error(`expected claimed, got ${first.status}`);
      expect((await backend.claimSlot(slotClaim('/stall', now - 4_000, 'queue'))).status).toBe('buffered');
      expect((await backend.claimSlot(slotClaim('/stall', now - 3_000, 'queue'))).status).toBe('buffered');
      await harness.advance(PAST_LEASE);
      expect((await backend.reapStalledRuns()).map((r) => r.scheduledAt)).toEqual([now - 5_000]);
      const second = await claimDue(10);
      expect(second.map((r) => r.scheduledAt)).toEqual([now - 4_000]);
      expect(await backend.releaseClaims('instance-a', [second[0]!.runId])).toBe(1);
      // Given back due now: the last catch-up (due earlier) runs first, then it.
      const third = await claimDue(10);
      expect(third.map((r) => r.scheduledAt)).toEqual([now - 3_000]);
      expect(await claimDue(10)).toEqual([]);
      await finish(third[0]!);
      expect((await claimDue(10)).map((r) => [r.scheduledAt, r.attempt])).toEqual([[now - 4_000, 1]]);
    });

    it('runs of jobs outside the filter are left for their own instances, however many are due', async () => {
      const now = await backend.time();
      await backend.upsertJobs([jobUpsert('/theirs'), jobUpsert('/mine')]);
      await Promise.all(Array.from({ length: 1_200 }, (_, i) => enqueue('/theirs', `t${i}`, now - 20_000 + i)));
      await enqueue('/mine', 'm', now - 1_000);
      const mine = KeyTable.of(['/mine']);
      const got: string[] = [];
      for (let round = 0; round < 10 && got.length < 2; round++) {
        got.push(...(await claimDue(5, mine)).map((r) => r.id));
        // One due before all the others' runs, enqueued once the caller has begun reading past them.
        if (round === 0) await enqueue('/mine', 'first', now - 30_000);
      }
      expect(got.sort()).toEqual(['first', 'm']);
      expect(await backend.nextDueAt()).toBe(now - 20_000);
      expect((await claimDue(5)).map((r) => r.id)).toEqual(['t0', 't1', 't2', 't3', 't4']);
    });

    it('removeJob deletes every run of a job, however many', async () => {
      const now = await backend.time();
      await backend.upsertJobs([jobUpsert('/crowd'), jobUpsert('/kept')]);
      await Promise.all(Array.from({ length: MANY }, (_, i) => enqueue('/crowd', `c${i}`, now - 1_000 + (i % 50))));
      await backend.setPaused('/crowd', true);
      await enqueue('/crowd', 'parked', now - 2_000);
      await enqueue('/kept', 'k', now + 60_000);
      expect(await backend.removeJob('/crowd')).toBe(true);
      expect(await backend.getJob('/crowd')).toBeNull();
      expect(SchedkitError.is(await rejection(enqueue('/crowd', 'c1', now)), 'E_JOB_NOT_FOUND')).toBe(true);
      expect(await backend.nextDueAt()).toBe(now + 60_000);
      expect(await claimDue(10)).toEqual([]);
      // Registered again, it starts empty: every old run id is free.
      await backend.upsertJobs([jobUpsert('/crowd')]);
      expect((await enqueue('/crowd', 'c1', now)).created).toBe(true);
      expect((await enqueue('/crowd', 'parked', now)).created).toBe(true);
      expect(await backend.removeJob('/crowd')).toBe(true);
      expect(await backend.removeJob('/crowd')).toBe(false);
    });

    it('reapStalledRuns and releaseClaims reach every run, however many', async () => {
      const now = await backend.time();
      await backend.upsertJobs([jobUpsert('/reap'), jobUpsert('/release')]);
      await Promise.all(Array.from({ length: MANY }, (_, i) => enqueue('/release', `r${i}`, now - 1_000)));
      const released: ClaimedRun[] = [];
      for (let i = 0; i < MANY; i += 500) released.push(...(await claimDue(500, KeyTable.of(['/release']))));
      expect(released).toHaveLength(MANY);
      expect(await backend.releaseClaims('instance-a', released.map((r) => r.runId))).toBe(MANY);
      expect((await backend.getJob('/release'))?.activeRuns).toBe(0);

      await Promise.all(Array.from({ length: 1_500 }, (_, i) => enqueue('/reap', `s${i}`, now - 1_000)));
      for (let i = 0; i < 1_500; i += 500) expect(await claimDue(500, KeyTable.of(['/reap']))).toHaveLength(500);
      await harness.advance(PAST_LEASE);
      const stalled = await backend.reapStalledRuns();
      expect(stalled).toHaveLength(1_500);
      expect(new Set(stalled.map((r) => r.id)).size).toBe(1_500);
      expect((await backend.getJob('/reap'))?.activeRuns).toBe(0);
    });
  });
}
