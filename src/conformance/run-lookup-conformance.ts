import { describe, expect, it } from 'vitest';
import type { Backend, ClaimedRun, StoredRun } from '../backend/backend.js';
import { SchedkitError } from '../errors/schedkit-error.js';
import { LEASE, MINUTE, type BackendSuiteContext } from './backend-suite-context.js';
import { rejection, type BackendHarness } from './harness.js';

/**
 * Reading runs: `getRun` (by job key and id, or a one-off run by tenant and
 * id), `listRuns` (filters, order, pages), one-off ids unique per tenant,
 * `RunEnqueue.scheduledAt`, `getJob`'s `nextRunAt` of a job without schedule,
 * and what the retention sweep and job removal take with the runs.
 */
export function describeRunLookup(suite: BackendSuiteContext): void {
  const { upsert, slotClaim, enqueue, finishOf, ids } = suite;
  let backend: Backend;
  let harness: BackendHarness;
  suite.onHarness((current) => {
    harness = current;
    backend = current.backend;
  });

  async function claimTriggers(count: number, instanceId = 'instance-a'): Promise<ClaimedRun[]> {
    return (await backend.claimDueRuns({ instanceId, leaseMs: 10 * MINUTE, runIds: ids(count) })).runs;
  }

  /** Every run `listRuns` answers for the query, page after page of `limit`. */
  async function listAll(query: { key?: string; tenantId?: string; state?: 'pending' | 'running' | 'retrying' }, limit: number): Promise<StoredRun[]> {
    const out: StoredRun[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 100; page++) {
      const result = await backend.listRuns({ ...query, limit, cursor });
      expect(result.runs.length).toBeLessThanOrEqual(limit);
      out.push(...result.runs);
      cursor = result.cursor;
      if (cursor === null) return out;
    }
    throw new Error('listRuns never answered cursor: null');
  }

  describe('getRun', () => {
    it('finds a run by job key and id through its life: pending, running, done', async () => {
      const now = await backend.time();
      await upsert('acme/report');
      await enqueue('acme/report', 'p1', now - 1_000, { params: '{"a":1}', maxAttempts: 2 });
      const pending: StoredRun = {
        id: 'p1',
        key: 'acme/report',
        name: 'report',
        tenantId: 'acme',
        kind: 'trigger',
        state: 'pending',
        scheduledAt: now - 1_000,
        dueAt: now - 1_000,
        attempt: 1,
        outcome: null,
        instanceId: null,
        params: '{"a":1}',
        cancelRequested: false,
      };
      expect(await backend.getRun({ key: 'acme/report', id: 'p1' })).toEqual(pending);
      const [run] = await claimTriggers(1, 'instance-b');
      expect(await backend.getRun({ key: 'acme/report', id: 'p1' })).toEqual({ ...pending, state: 'running', instanceId: 'instance-b' });
      await backend.finishRun(finishOf(run!, { instanceId: 'instance-b' }));
      expect(await backend.getRun({ key: 'acme/report', id: 'p1' })).toMatchObject({ state: 'done', outcome: 'success', instanceId: null });
    });

    it('finds a one-off run by tenant and id without the job key', async () => {
      const now = await backend.time();
      await upsert('acme/a');
      await upsert('/plain');
      await enqueue('acme/a', 'post-1', now + MINUTE);
      await enqueue('/plain', 'post-1', now + MINUTE);
      expect(await backend.getRun({ tenantId: 'acme', id: 'post-1' })).toMatchObject({ key: 'acme/a', id: 'post-1', tenantId: 'acme' });
      expect(await backend.getRun({ tenantId: '', id: 'post-1' })).toMatchObject({ key: '/plain', id: 'post-1', tenantId: undefined });
      expect(await backend.getRun({ tenantId: 'other', id: 'post-1' })).toBeNull();
    });

    it('answers null for an unknown run or job, and finds slot runs by job key only', async () => {
      const now = await backend.time();
      await upsert('acme/slots');
      const active = await suite.claimOk('acme/slots', now - 1_000);
      expect(await backend.getRun({ key: 'acme/slots', id: 'nope' })).toBeNull();
      expect(await backend.getRun({ key: 'acme/none', id: active.id })).toBeNull();
      expect(await backend.getRun({ tenantId: 'acme', id: 'nope' })).toBeNull();
      expect(await backend.getRun({ key: 'acme/slots', id: active.id })).toMatchObject({ kind: 'slot', state: 'running', scheduledAt: now - 1_000 });
      expect(await backend.getRun({ tenantId: 'acme', id: active.id })).toBeNull();
    });

    it('reports a run put back for another attempt as retrying', async () => {
      const now = await backend.time();
      await upsert('/retrying');
      await enqueue('/retrying', 'r', now - 1_000, { maxAttempts: 3 });
      const [run] = await claimTriggers(1);
      await backend.finishRun(finishOf(run!, { outcome: 'failed', error: 'boom', retryInMs: MINUTE }));
      expect(await backend.getRun({ key: '/retrying', id: 'r' })).toMatchObject({ state: 'retrying', attempt: 2, outcome: null, instanceId: null });
    });
  });

  describe('listRuns', () => {
    /** Runs of four jobs in three tenants: pending, retrying, running, and one done (never listed). */
    async function seed(now: number): Promise<void> {
      for (const key of ['zeta/c', 'acme/b', 'acme/a', '/d']) await upsert(key);
      await enqueue('acme/a', 'a-run', now - 3_000, { maxAttempts: 3 });
      await enqueue('acme/b', 'b-done', now - 2_000);
      const [first, second] = await claimTriggers(2);
      expect([first!.id, second!.id]).toEqual(['a-run', 'b-done']);
      await backend.finishRun(finishOf(first!, { outcome: 'failed', error: 'boom', retryInMs: MINUTE }));
      await backend.finishRun(finishOf(second!));
      await enqueue('acme/b', 'b-running', now - 1_000);
      await claimTriggers(1, 'instance-b');
      await enqueue('acme/b', 'b-2', now + MINUTE);
      await enqueue('acme/b', 'b-1', now + 2 * MINUTE);
      await enqueue('zeta/c', 'c-1', now + MINUTE);
      await enqueue('/d', 'd-1', now + MINUTE);
    }

    it('lists pending, retrying and running runs by job key, then run id', async () => {
      await seed(await backend.time());
      const page = await backend.listRuns({ limit: 100 });
      expect(page.cursor).toBeNull();
      expect(page.runs.map((r) => [r.key, r.id, r.state])).toEqual([
        ['/d', 'd-1', 'pending'],
        ['acme/a', 'a-run', 'retrying'],
        ['acme/b', 'b-1', 'pending'],
        ['acme/b', 'b-2', 'pending'],
        ['acme/b', 'b-running', 'running'],
        ['zeta/c', 'c-1', 'pending'],
      ]);
      expect(page.runs[4]).toMatchObject({ instanceId: 'instance-b', name: 'b', tenantId: 'acme', kind: 'trigger' });
    });

    it('filters by job key, by tenant and by state', async () => {
      await seed(await backend.time());
      const ids = async (query: Parameters<typeof listAll>[0]) => (await listAll(query, 100)).map((r) => r.id);
      expect(await ids({ key: 'acme/b' })).toEqual(['b-1', 'b-2', 'b-running']);
      expect(await ids({ key: 'acme/b', state: 'pending' })).toEqual(['b-1', 'b-2']);
      expect(await ids({ key: 'acme/none' })).toEqual([]);
      expect(await ids({ tenantId: 'acme' })).toEqual(['a-run', 'b-1', 'b-2', 'b-running']);
      expect(await ids({ tenantId: '' })).toEqual(['d-1']);
      expect(await ids({ tenantId: 'nobody' })).toEqual([]);
      expect(await ids({ state: 'running' })).toEqual(['b-running']);
      expect(await ids({ state: 'retrying' })).toEqual(['a-run']);
      expect(await ids({ state: 'pending' })).toEqual(['d-1', 'b-1', 'b-2', 'c-1']);
      expect(await ids({ tenantId: 'acme', state: 'pending' })).toEqual(['b-1', 'b-2']);
    });

    it('pages: at most limit runs per page, the cursor goes on where the page ended, null at the end', async () => {
      await seed(await backend.time());
      const all = (await backend.listRuns({ limit: 1_000 })).runs.map((r) => `${r.key}:${r.id}`);
      for (const limit of [1, 2, 4]) {
        expect((await listAll({}, limit)).map((r) => `${r.key}:${r.id}`)).toEqual(all);
      }
      const first = await backend.listRuns({ limit: 2 });
      expect(first.runs).toHaveLength(2);
      expect(first.cursor).not.toBeNull();
      const second = await backend.listRuns({ limit: 2, cursor: first.cursor });
      expect(second.runs[0]?.id).not.toBe(first.runs[1]?.id);
      expect(await backend.listRuns({ limit: 10, state: 'running', key: 'zeta/c' })).toEqual({ runs: [], cursor: null });
    });

    it('pages through many runs of many jobs in order', async () => {
      const now = await backend.time();
      const expected: string[] = [];
      for (let j = 0; j < 5; j++) {
        await upsert(`t/job-${j}`);
        for (let r = 0; r < 30; r++) {
          const id = `run-${String(r).padStart(3, '0')}`;
          await enqueue(`t/job-${j}`, `${id}-${j}`, now + MINUTE + r);
          expected.push(`t/job-${j}:${id}-${j}`);
        }
      }
      expect((await listAll({ tenantId: 't' }, 7)).map((r) => `${r.key}:${r.id}`)).toEqual(expected);
      expect((await listAll({}, 1_000)).map((r) => `${r.key}:${r.id}`)).toEqual(expected);
    });
  });

  describe('one-off run ids per tenant', () => {
    it('rejects an id a run of another job of the tenant has, and stores nothing', async () => {
      const now = await backend.time();
      await upsert('acme/a');
      await upsert('acme/b');
      await upsert('other/c');
      await enqueue('acme/a', 'post-1', now + MINUTE);
      const error = await rejection(enqueue('acme/b', 'post-1', now + 2 * MINUTE));
      expect(SchedkitError.is(error, 'E_INVALID_ARGUMENT')).toBe(true);
      expect((error as SchedkitError).details).toMatchObject({ field: 'id' });
      expect(await backend.getRun({ key: 'acme/b', id: 'post-1' })).toBeNull();
      expect(await backend.getRun({ tenantId: 'acme', id: 'post-1' })).toMatchObject({ key: 'acme/a' });
      expect((await backend.listRuns({ key: 'acme/b', limit: 10 })).runs).toEqual([]);
      expect(await backend.nextDueAt()).toBe(now + MINUTE);
      // Another tenant may use it; the same job gets its run back.
      expect((await enqueue('other/c', 'post-1', now + MINUTE)).created).toBe(true);
      expect(await enqueue('acme/a', 'post-1', now)).toMatchObject({ created: false, run: { dueAt: now + MINUTE } });
    });

    it('frees the id when the run is swept or its job removed', async () => {
      const now = await backend.time();
      await upsert('acme/a');
      await upsert('acme/b');
      await upsert('acme/c');
      await enqueue('acme/a', 'swept', now - 1_000);
      await enqueue('acme/a', 'removed', now + MINUTE);
      const [run] = await claimTriggers(1);
      await backend.finishRun(finishOf(run!));
      await harness.advance(LEASE + 50);
      expect((await backend.sweep({ retentionMs: LEASE, orphanTimeoutMs: 10 * MINUTE })).runsDeleted).toBe(1);
      expect(await backend.getRun({ tenantId: 'acme', id: 'swept' })).toBeNull();
      expect((await enqueue('acme/b', 'swept', now + MINUTE)).created).toBe(true);
      await backend.removeJob('acme/a');
      expect(await backend.getRun({ tenantId: 'acme', id: 'removed' })).toBeNull();
      expect((await enqueue('acme/c', 'removed', now + MINUTE)).created).toBe(true);
      expect(await backend.getRun({ tenantId: 'acme', id: 'removed' })).toMatchObject({ key: 'acme/c' });
    });
  });

  describe('enqueueRun scheduledAt', () => {
    it('keeps the slot a run is for apart from when it is due', async () => {
      const now = await backend.time();
      await upsert('/backfill');
      const { run } = await backend.enqueueRun({
        key: '/backfill', id: 'backfill-1', kind: 'trigger', dueAt: null, scheduledAt: now - 10 * MINUTE, params: undefined, maxAttempts: 1,
      });
      expect(run.scheduledAt).toBe(now - 10 * MINUTE);
      expect(run.dueAt).toBeGreaterThanOrEqual(now);
      expect(await backend.getRun({ key: '/backfill', id: 'backfill-1' })).toMatchObject({ scheduledAt: now - 10 * MINUTE, dueAt: run.dueAt });
      const [claimed] = await claimTriggers(1);
      expect(claimed).toMatchObject({ id: 'backfill-1', scheduledAt: now - 10 * MINUTE });
    });
  });

  describe('getJob of a job without schedule', () => {
    it('shows the due time of its earliest pending run as nextRunAt', async () => {
      const now = await backend.time();
      await upsert('/trigger-only', { schedule: null });
      expect((await backend.getJob('/trigger-only'))?.nextRunAt).toBeNull();
      await enqueue('/trigger-only', 'later', now + 2 * MINUTE);
      await enqueue('/trigger-only', 'sooner', now + MINUTE);
      expect((await backend.getJob('/trigger-only'))?.nextRunAt).toBe(now + MINUTE);
      expect((await backend.listJobs()).find((j) => j.key === '/trigger-only')?.nextRunAt).toBe(now + MINUTE);
      await backend.cancelRun({ key: '/trigger-only', id: 'sooner', instanceId: 'instance-a', abort: false });
      expect((await backend.getJob('/trigger-only'))?.nextRunAt).toBe(now + 2 * MINUTE);
      await backend.rescheduleRun({ key: '/trigger-only', id: 'later', instanceId: 'instance-a', at: now - 1_000 });
      expect((await backend.getJob('/trigger-only'))?.nextRunAt).toBe(now - 1_000);
      await claimTriggers(1);
      expect((await backend.getJob('/trigger-only'))?.nextRunAt).toBeNull();
    });
  });

  describe('sweep of cancelled runs', () => {
    it('deletes cancelled runs, slot runs too, after the retention', async () => {
      const now = await backend.time();
      await upsert('acme/sw');
      await suite.claimOk('acme/sw', now - 2_000, { overlap: 'buffer-one' });
      const buffered = await backend.claimSlot(slotClaim('acme/sw', now - 1_000, { overlap: 'buffer-one' }));
      expect(buffered.status).toBe('buffered');
      const slotRunId = (buffered as { run: { id: string } }).run.id;
      await enqueue('acme/sw', 'one-off', now + MINUTE);
      for (const id of [slotRunId, 'one-off']) {
        expect((await backend.cancelRun({ key: 'acme/sw', id, instanceId: 'instance-a', abort: false })).status).toBe('cancelled');
      }
      expect(await backend.getRun({ key: 'acme/sw', id: slotRunId })).toMatchObject({ state: 'done', outcome: 'cancelled' });
      expect((await backend.sweep({ retentionMs: LEASE, orphanTimeoutMs: 10 * MINUTE })).runsDeleted).toBe(0);
      await harness.advance(LEASE + 50);
      expect((await backend.sweep({ retentionMs: LEASE, orphanTimeoutMs: 10 * MINUTE })).runsDeleted).toBe(2);
      expect(await backend.getRun({ key: 'acme/sw', id: slotRunId })).toBeNull();
      expect(await backend.getRun({ tenantId: 'acme', id: 'one-off' })).toBeNull();
    });
  });
}
