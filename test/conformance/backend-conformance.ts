import { KeyTable } from '../../src/backend/key-filter.js';
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type {
  Backend,
  ClaimedRun,
  JobUpsert,
  RunEnqueue,
  RunFinish,
  SlotClaim,
  SlotClaimResult,
  StoredJob,
} from '../../src/backend/backend.js';
import { jobStatus } from '../../src/backend/job-status.js';
import { SchedkitError } from '../../src/errors/schedkit-error.js';
import { jobUpsert, rejection } from '../helpers/fixtures.js';

/**
 * What a backend under test comes with. Each test gets a fresh harness (its
 * own namespace), so tests never see each other's jobs.
 */
export interface BackendHarness {
  backend: Backend;
  /** Moves backend time forward by `ms`: a fake clock for memory, a real wait for Redis. */
  advance(ms: number): Promise<void>;
  /** Frees everything the harness started (connections, key prefix). */
  close(): Promise<void>;
}

/** Lease used by claims in these tests; `PAST_LEASE` is comfortably beyond it. */
const LEASE = 300;
const PAST_LEASE = 450;
const MINUTE = 60_000;

/**
 * The executable form of the `Backend` contract. Every backend runs this
 * suite unchanged: it uses the public interface only, and all times are
 * relative to `backend.time()` so a backend on a real clock (Redis `TIME`)
 * passes it as well as one on a fake clock.
 *
 * @example
 * describeBackendConformance('memory', async () => {
 *   const clock = new FakeClock();
 *   return { backend: new MemoryBackend({ clock }), advance: (ms) => clock.advance(ms), close: async () => {} };
 * });
 */
export function describeBackendConformance(label: string, makeHarness: () => Promise<BackendHarness>): void {
  describe(`Backend conformance: ${label}`, () => {
    let harness: BackendHarness;
    let backend: Backend;

    beforeEach(async () => {
      harness = await makeHarness();
      backend = harness.backend;
    });

    afterEach(async () => {
      await harness.close();
    });

    // ---- helpers ----------------------------------------------------------

    async function upsert(key: string, overrides: Partial<JobUpsert> = {}): Promise<StoredJob> {
      const [result] = await backend.upsertJobs([jobUpsert(key, overrides)]);
      return result!.stored;
    }

    function slotClaim(key: string, slot: number, overrides: Partial<SlotClaim> = {}): SlotClaim {
      return {
        key,
        slot,
        runId: randomUUID(),
        instanceId: 'instance-a',
        leaseMs: LEASE,
        definitionHash: 'h1',
        overlap: 'skip',
        nextRunAt: slot + MINUTE,
        requeueOnStall: false,
        maxAttempts: 1,
        ...overrides,
      };
    }

    async function claimOk(key: string, slot: number, overrides: Partial<SlotClaim> = {}): Promise<ClaimedRun> {
      const result = await backend.claimSlot(slotClaim(key, slot, overrides));
      if (result.status !== 'claimed') throw new Error(`expected claimed, got ${result.status}`);
      return result.run;
    }

    function enqueue(key: string, id: string, dueAt: number, overrides: Partial<RunEnqueue> = {}) {
      return backend.enqueueRun({ key, id, kind: 'trigger', dueAt, params: undefined, maxAttempts: 1, ...overrides });
    }

    function finishOf(run: ClaimedRun, overrides: Partial<RunFinish> = {}): RunFinish {
      return {
        key: run.key,
        id: run.id,
        fencingToken: run.fencingToken,
        instanceId: 'instance-a',
        outcome: 'success',
        error: null,
        durationMs: 25,
        ...overrides,
      };
    }

    function ids(count: number): string[] {
      return Array.from({ length: count }, () => randomUUID());
    }

    async function stored(key: string): Promise<StoredJob> {
      const found = await backend.getJob(key);
      if (found === null) throw new Error(`job ${key} is not stored`);
      return found;
    }

    // ---- upsertJobs / touchJobs / getJob / listJobs ------------------------

    describe('instances', () => {
      it('lists the live instances, sorted, and forgets one whose heartbeat ran out or that left', async () => {
        expect(await backend.heartbeatInstance('b-instance', LEASE)).toEqual(['b-instance']);
        expect(await backend.heartbeatInstance('a-instance', LEASE * 10)).toEqual(['a-instance', 'b-instance']);
        await harness.advance(PAST_LEASE);
        expect(await backend.heartbeatInstance('c-instance', LEASE * 10)).toEqual(['a-instance', 'c-instance']);
        await backend.removeInstance('a-instance');
        expect(await backend.heartbeatInstance('c-instance', LEASE * 10)).toEqual(['c-instance']);
      });
    });

    describe('upsertJobs', () => {
      it('creates a new job with zeroed state and backend timestamps', async () => {
        const before = await backend.time();
        const [result] = await backend.upsertJobs([jobUpsert('acme/report', { nextRunAt: before + MINUTE, limit: 5 })]);
        const after = await backend.time();
        expect(result!.created).toBe(true);
        expect(result!.definitionChanged).toBe(false);
        const s = result!.stored;
        expect(s).toMatchObject({
          key: 'acme/report',
          name: 'report',
          tenantId: 'acme',
          schedule: { kind: 'interval', everyMs: MINUTE, anchor: '1970-01-01T00:00:00.000Z' },
          definitionHash: 'h1',
          definedAt: 1_000,
          limit: 5,
          paused: false,
          completed: false,
          lastSlot: null,
          slotCount: 0,
          fence: 0,
          nextRunAt: before + MINUTE,
          lastRunAt: null,
          lastDurationMs: null,
          lastError: null,
          lastOutcome: null,
          runCount: 0,
          failCount: 0,
          skippedCount: 0,
          activeRuns: 0,
        });
        expect(s.createdAt).toBeGreaterThanOrEqual(before);
        expect(s.createdAt).toBeLessThanOrEqual(after);
        expect(s.lastSeenAt).toBe(s.createdAt);
        expect(await backend.getJob('acme/report')).toEqual(s);
      });

      it('returns one result per job, in order, for a batch', async () => {
        const results = await backend.upsertJobs([jobUpsert('/b'), jobUpsert('/a'), jobUpsert('t/c')]);
        expect(results.map((r) => [r.key, r.created])).toEqual([
          ['/b', true],
          ['/a', true],
          ['t/c', true],
        ]);
        expect((await backend.getJob('t/c'))?.tenantId).toBe('t');
        expect((await backend.getJob('/a'))?.tenantId).toBeUndefined();
      });

      it('with the same definition only refreshes lastSeenAt, and fills nextRunAt when none is stored', async () => {
        const first = await upsert('/same', { nextRunAt: null });
        await harness.advance(PAST_LEASE);
        const [again] = await backend.upsertJobs([jobUpsert('/same', { nextRunAt: 123_456 })]);
        expect(again!.created).toBe(false);
        expect(again!.definitionChanged).toBe(false);
        expect(again!.stored.createdAt).toBe(first.createdAt);
        expect(again!.stored.lastSeenAt).toBeGreaterThan(first.lastSeenAt);
        expect(again!.stored.nextRunAt).toBe(123_456);

        // Once a nextRunAt is stored, a registration does not overwrite it.
        const [third] = await backend.upsertJobs([jobUpsert('/same', { nextRunAt: 999_999 })]);
        expect(third!.stored.nextRunAt).toBe(123_456);
      });

      it('keeps the nextRunAt written by a claim when the same definition registers again', async () => {
        const now = await backend.time();
        await upsert('/keep', { nextRunAt: now - 1_000 });
        await claimOk('/keep', now - 1_000, { nextRunAt: now + MINUTE });
        const [again] = await backend.upsertJobs([jobUpsert('/keep', { nextRunAt: now + 5 * MINUTE })]);
        expect(again!.stored.nextRunAt).toBe(now + MINUTE);
      });

      it('a newer definition wins: replaces the schedule, keeps the dedup mark, fence and counters', async () => {
        const now = await backend.time();
        await upsert('/change', { nextRunAt: now - 1_000 });
        const run = await claimOk('/change', now - 1_000, { nextRunAt: null });
        await backend.finishRun(finishOf(run));
        expect((await stored('/change')).completed).toBe(true);

        const [result] = await backend.upsertJobs([
          jobUpsert('/change', {
            definitionHash: 'h2',
            definedAt: 2_000,
            schedule: { kind: 'cron', cron: '*/5 * * * *' },
            limit: 10,
            nextRunAt: now + MINUTE,
          }),
        ]);
        expect(result!.created).toBe(false);
        expect(result!.definitionChanged).toBe(true);
        expect(result!.stored).toMatchObject({
          definitionHash: 'h2',
          definedAt: 2_000,
          schedule: { kind: 'cron', cron: '*/5 * * * *' },
          limit: 10,
          nextRunAt: now + MINUTE,
          completed: false,
          lastSlot: now - 1_000,
          slotCount: 1,
          fence: 1,
          runCount: 1,
        });
        // The slot claimed under the old definition stays claimed.
        expect((await backend.claimSlot(slotClaim('/change', now - 1_000, { definitionHash: 'h2' }))).status).toBe('taken');
      });

      it('an older definition loses: the stored one is kept and returned', async () => {
        await upsert('/older', { definitionHash: 'h2', definedAt: 2_000, limit: 3 });
        const [result] = await backend.upsertJobs([jobUpsert('/older', { definitionHash: 'h1', definedAt: 1_500, limit: 7 })]);
        expect(result!.created).toBe(false);
        expect(result!.definitionChanged).toBe(false);
        expect(result!.stored.definitionHash).toBe('h2');
        expect(result!.stored.definedAt).toBe(2_000);
        expect(result!.stored.limit).toBe(3);
        expect((await stored('/older')).definitionHash).toBe('h2');
      });

      it('stamps a definition sent with definedAt null with backend time, and answers the stamp', async () => {
        const before = await backend.time();
        const [created] = await backend.upsertJobs([jobUpsert('/stamp', { definedAt: null })]);
        const after = await backend.time();
        expect(created!.definedAt).toBeGreaterThanOrEqual(before);
        expect(created!.definedAt).toBeLessThanOrEqual(after);
        expect(created!.stored.definedAt).toBe(created!.definedAt);
        // The same definition sent again (by this or another instance) answers the stored stamp.
        await harness.advance(20);
        const [same] = await backend.upsertJobs([jobUpsert('/stamp', { definedAt: null })]);
        expect(same!.definedAt).toBe(created!.definedAt);
        expect(same!.stored.definedAt).toBe(created!.definedAt);
        // A new definition reaching the store later is newer than the stored one, whatever the callers' clocks.
        const [changed] = await backend.upsertJobs([jobUpsert('/stamp', { definitionHash: 'h2', definedAt: null })]);
        expect(changed!.definitionChanged).toBe(true);
        expect(changed!.definedAt).toBeGreaterThan(created!.definedAt);
        expect(changed!.stored).toMatchObject({ definitionHash: 'h2', definedAt: changed!.definedAt });
        // A definition stamped earlier, sent again, does not win back.
        const [older] = await backend.upsertJobs([jobUpsert('/stamp', { definedAt: created!.definedAt })]);
        expect(older!).toMatchObject({ definitionChanged: false, definedAt: created!.definedAt });
        expect(older!.stored.definitionHash).toBe('h2');
      });

      it('revives a removed job as a new one', async () => {
        const now = await backend.time();
        await upsert('/revive', { nextRunAt: now });
        await claimOk('/revive', now - 1_000);
        expect(await backend.removeJob('/revive')).toBe(true);
        expect((await backend.claimSlot(slotClaim('/revive', now))).status).toBe('removed');

        const [result] = await backend.upsertJobs([jobUpsert('/revive')]);
        expect(result!.created).toBe(true);
        expect(result!.stored).toMatchObject({ lastSlot: null, slotCount: 0, fence: 0, activeRuns: 0 });
        expect((await backend.claimSlot(slotClaim('/revive', now))).status).toBe('claimed');
      });
    });

    describe('touchJobs', () => {
      it('refreshes lastSeenAt of existing jobs and never creates or revives one', async () => {
        const first = await upsert('/seen');
        await upsert('/gone');
        await backend.removeJob('/gone');
        await harness.advance(PAST_LEASE);
        await backend.touchJobs(['/seen', '/never', '/gone']);
        expect((await stored('/seen')).lastSeenAt).toBeGreaterThan(first.lastSeenAt);
        expect(await backend.getJob('/never')).toBeNull();
        expect(await backend.getJob('/gone')).toBeNull();
        expect((await backend.claimSlot(slotClaim('/gone', (await backend.time()) - 1))).status).toBe('removed');
      });
    });

    describe('getJob / listJobs / setPaused', () => {
      it('getJob returns null for an unknown job', async () => {
        expect(await backend.getJob('/nope')).toBeNull();
      });

      it('listJobs sorts by key and filters by tenant, with "" meaning no tenant', async () => {
        await backend.upsertJobs([jobUpsert('zeta/d'), jobUpsert('acme/b'), jobUpsert('/c'), jobUpsert('acme/a')]);
        expect((await backend.listJobs()).map((j) => j.key)).toEqual(['/c', 'acme/a', 'acme/b', 'zeta/d']);
        expect((await backend.listJobs({ tenantId: 'acme' })).map((j) => j.key)).toEqual(['acme/a', 'acme/b']);
        expect((await backend.listJobs({ tenantId: '' })).map((j) => j.key)).toEqual(['/c']);
        expect(await backend.listJobs({ tenantId: 'nobody' })).toEqual([]);
      });

      it('setPaused flips the flag and returns false for an unknown job', async () => {
        await upsert('/p');
        expect(await backend.setPaused('/p', true)).toBe(true);
        expect((await stored('/p')).paused).toBe(true);
        expect(await backend.setPaused('/p', false)).toBe(true);
        expect((await stored('/p')).paused).toBe(false);
        expect(await backend.setPaused('/unknown', true)).toBe(false);
        expect(await backend.getJob('/unknown')).toBeNull();
      });
    });

    // ---- claimSlot ----------------------------------------------------------

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

    // ---- one-off runs -------------------------------------------------------

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

      it('run ids are per job', async () => {
        const now = await backend.time();
        await backend.upsertJobs([jobUpsert('/one'), jobUpsert('/two')]);
        expect((await enqueue('/one', 'same', now)).created).toBe(true);
        expect((await enqueue('/two', 'same', now)).created).toBe(true);
        const claimed = (await backend.claimDueRuns({ instanceId: 'instance-a', leaseMs: LEASE, runIds: ids(5) })).runs;
        expect(claimed.map((r) => r.key).sort()).toEqual(['/one', '/two']);
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

    // ---- heartbeat / finishRun / reap --------------------------------------

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

    // ---- history / removal / sweep -----------------------------------------

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

    // ---- notifications / status --------------------------------------------

    describe('onRunsChanged', () => {
      it('calls listeners when a run is enqueued, until unsubscribed', async () => {
        const now = await backend.time();
        await upsert('/notify');
        let calls = 0;
        const unsubscribe = backend.onRunsChanged(() => {
          calls++;
        });
        await enqueue('/notify', 'n1', now);
        await vi.waitFor(() => expect(calls).toBeGreaterThan(0), { timeout: 2_000, interval: 10 });
        unsubscribe();
        const seen = calls;
        await enqueue('/notify', 'n2', now);
        await harness.advance(50);
        expect(calls).toBe(seen);
      });

      it('calls listeners when a run goes back to pending', async () => {
        const now = await backend.time();
        await upsert('/notify2');
        const run = await claimOk('/notify2', now - 1_000);
        let calls = 0;
        const unsubscribe = backend.onRunsChanged(() => {
          calls++;
        });
        await backend.finishRun(finishOf(run, { outcome: 'failed', error: 'x', retryInMs: 0 }));
        await vi.waitFor(() => expect(calls).toBeGreaterThan(0), { timeout: 2_000, interval: 10 });
        unsubscribe();
      });
    });

    describe('jobStatus of stored state', () => {
      it('reports scheduled, running, paused, completed and failed', async () => {
        const now = await backend.time();
        await upsert('/st');
        expect(jobStatus(await stored('/st'))).toBe('scheduled');
        const run = await claimOk('/st', now - 2_000);
        expect(jobStatus(await stored('/st'))).toBe('running');
        await backend.setPaused('/st', true);
        expect(jobStatus(await stored('/st'))).toBe('paused');
        await backend.setPaused('/st', false);
        await backend.finishRun(finishOf(run, { outcome: 'failed', error: 'boom' }));
        expect(jobStatus(await stored('/st'))).toBe('failed');
        const last = await claimOk('/st', now - 1_000, { nextRunAt: null });
        await backend.finishRun(finishOf(last));
        expect(jobStatus(await stored('/st'))).toBe('completed');
      });
    });
  });
}
