import { describe, expect, it } from 'vitest';
import type { Backend } from '../backend/backend.js';
import { LEASE, PAST_LEASE, MINUTE, type BackendSuiteContext } from './backend-suite-context.js';
import { jobUpsert, type BackendHarness } from './harness.js';

/**
 * Instances and jobs as they register: instance heartbeats and membership,
 * `upsertJobs` (which definition wins), `touchJobs`, `getJob`, `listJobs` and
 * `setPaused`.
 */
export function describeJobRegistration(suite: BackendSuiteContext): void {
  const { upsert, slotClaim, claimOk, finishOf, stored } = suite;
  let backend: Backend;
  let harness: BackendHarness;
  suite.onHarness((current) => {
    harness = current;
    backend = current.backend;
  });

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
}
