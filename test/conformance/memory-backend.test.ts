import { describe, expect, it, vi } from 'vitest';
import { KeyTable } from '../../src/backend/key-table.js';
import { MemoryBackend } from '../../src/backend/memory/memory-backend.js';
import { FakeClock } from '../../src/clock/fake-clock.js';
import { SchedkitError } from '../../src/errors/schedkit-error.js';
import { describeBackendConformance, describeHeldRunsConformance } from 'schedkit/backend';
import { jobUpsert } from '../helpers/fixtures.js';

// Through the public entry point, as a backend author would run them.
await describeBackendConformance('memory', async () => {
  const clock = new FakeClock();
  return { backend: new MemoryBackend({ clock }), advance: (ms) => clock.advance(ms), close: async () => {} };
});

await describeHeldRunsConformance('memory', async () => {
  const clock = new FakeClock();
  return { backend: new MemoryBackend({ clock }), advance: (ms) => clock.advance(ms), close: async () => {} };
});

/** Deterministic pseudo-random numbers (mulberry32) so failures replay. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('MemoryBackend specifics', () => {
  it('returns copies: mutating results never changes stored state', async () => {
    const backend = new MemoryBackend({ clock: new FakeClock() });
    const [result] = await backend.upsertJobs([jobUpsert('/copy')]);
    const storedJob = result!.stored;
    storedJob.paused = true;
    (storedJob.schedule as { everyMs: number }).everyMs = 1;
    const again = await backend.getJob('/copy');
    expect(again?.paused).toBe(false);
    expect(again?.schedule).toEqual({ kind: 'interval', everyMs: 60_000, anchor: '1970-01-01T00:00:00.000Z' });

    const input = jobUpsert('/input');
    await backend.upsertJobs([input]);
    (input.schedule as { everyMs: number }).everyMs = 5;
    expect((await backend.getJob('/input'))?.schedule).toMatchObject({ everyMs: 60_000 });

    const now = await backend.time();
    const claim = (slot: number, runId: string) =>
      backend.claimSlot({
        key: '/copy', slot, runId, instanceId: 'i', leaseMs: 1_000, definitionHash: 'h1',
        overlap: 'skip', nextRunAt: slot + 1, requeueOnStall: false, maxAttempts: 1,
      });
    expect((await claim(now - 100, 'r1')).status).toBe('claimed');
    expect((await claim(now - 50, 'r2')).status).toBe('skipped');
    const [entry] = await backend.history('/copy', 10);
    entry!.outcome = 'success';
    expect((await backend.history('/copy', 10))[0]?.outcome).toBe('skipped');
  });

  it('keeps each job its own schedule when two definitions share a hash', async () => {
    const backend = new MemoryBackend({ clock: new FakeClock() });
    await backend.upsertJobs([
      jobUpsert('/a', { definitionHash: 'same' }),
      jobUpsert('/b', { definitionHash: 'same', schedule: { kind: 'cron', cron: '* * * * *' } }),
      jobUpsert('/c', { definitionHash: 'same', limit: 3 }),
    ]);
    expect((await backend.getJob('/a'))?.schedule).toMatchObject({ kind: 'interval' });
    expect((await backend.getJob('/b'))?.schedule).toEqual({ kind: 'cron', cron: '* * * * *' });
    expect((await backend.getJob('/c'))?.limit).toBe(3);
    expect((await backend.getJob('/a'))?.limit).toBeNull();
    // Removing the first owner of a shared definition leaves the others intact.
    await backend.removeJob('/a');
    await backend.upsertJobs([jobUpsert('/d', { definitionHash: 'same' })]);
    expect((await backend.getJob('/d'))?.schedule).toMatchObject({ kind: 'interval' });
    expect((await backend.getJob('/b'))?.schedule).toEqual({ kind: 'cron', cron: '* * * * *' });
  });

  it('keeps a name that the key does not spell', async () => {
    const backend = new MemoryBackend({ clock: new FakeClock() });
    await backend.upsertJobs([jobUpsert('custom-key', { name: 'real-name', tenantId: 't' }), jobUpsert('t/x', { name: 'x', tenantId: 't' })]);
    expect(await backend.getJob('custom-key')).toMatchObject({ name: 'real-name', tenantId: 't' });
    expect(await backend.getJob('t/x')).toMatchObject({ name: 'x', tenantId: 't' });
  });

  it('honours historyLimit and rejects a bad one', async () => {
    const clock = new FakeClock();
    const backend = new MemoryBackend({ clock, historyLimit: 3 });
    await backend.upsertJobs([jobUpsert('/h')]);
    const now = clock.now();
    const claim = (slot: number, runId: string) =>
      backend.claimSlot({
        key: '/h', slot, runId, instanceId: 'i', leaseMs: 1_000, definitionHash: 'h1',
        overlap: 'skip', nextRunAt: slot + 1, requeueOnStall: false, maxAttempts: 1,
      });
    expect((await claim(now - 100, 'first')).status).toBe('claimed');
    for (let i = 1; i <= 5; i++) expect((await claim(now - 100 + i, `s${i}`)).status).toBe('skipped');
    expect((await backend.history('/h', 10)).map((e) => e.runId)).toEqual(['s5', 's4', 's3']);
    expect(await backend.history('/h', 0)).toEqual([]);

    for (const bad of [0, -1, 1.5, Number.NaN]) {
      let error: unknown;
      try {
        new MemoryBackend({ historyLimit: bad });
      } catch (e) {
        error = e;
      }
      expect(SchedkitError.is(error, 'E_INVALID_ARGUMENT')).toBe(true);
    }
  });

  it('calls listeners asynchronously and swallows their errors', async () => {
    const backend = new MemoryBackend({ clock: new FakeClock() });
    await backend.upsertJobs([jobUpsert('/l')]);
    const order: string[] = [];
    backend.onRunsChanged(() => {
      order.push('throwing');
      throw new Error('listener bug');
    });
    backend.onRunsChanged(() => order.push('second'));
    const enqueued = backend.enqueueRun({ key: '/l', id: 'a', kind: 'trigger', dueAt: 0, params: undefined, maxAttempts: 1 });
    order.push('same tick');
    await enqueued;
    await vi.waitFor(() => expect(order).toEqual(['same tick', 'throwing', 'second']));
  });

  it('notifies on resume and when an exclusive run ends, not on a plain finish', async () => {
    const clock = new FakeClock();
    const backend = new MemoryBackend({ clock });
    await backend.upsertJobs([jobUpsert('/n')]);
    let calls = 0;
    backend.onRunsChanged(() => calls++);
    const settle = () => clock.advance(0);
    const claim = async (slot: number, overlap: 'skip' | 'allow') => {
      const result = await backend.claimSlot({
        key: '/n', slot, runId: `run-${slot}`, instanceId: 'i', leaseMs: 1_000, definitionHash: 'h1',
        overlap, nextRunAt: slot + 1, requeueOnStall: false, maxAttempts: 1,
      });
      if (result.status !== 'claimed') throw new Error(result.status);
      return result.run;
    };
    const finish = (run: { key: string; id: string; fencingToken: number }) =>
      backend.finishRun({ ...run, instanceId: 'i', outcome: 'success', error: null, durationMs: 1 });
    const now = clock.now();

    await finish(await claim(now - 10, 'allow'));
    await settle();
    expect(calls).toBe(0);

    await finish(await claim(now - 5, 'skip'));
    await settle();
    expect(calls).toBe(1);

    await backend.setPaused('/n', true);
    await settle();
    expect(calls).toBe(1);
    await backend.setPaused('/n', false);
    await settle();
    expect(calls).toBe(2);
  });

  it('claims due runs in (dueAt, enqueue order) across many runs and jobs', async () => {
    const clock = new FakeClock();
    const backend = new MemoryBackend({ clock });
    const rand = random(42);
    const keys = Array.from({ length: 20 }, (_, i) => `/j${i}`);
    await backend.upsertJobs(keys.map((k) => jobUpsert(k)));
    const now = clock.now();
    const expected: { id: string; dueAt: number; order: number }[] = [];
    for (let i = 0; i < 500; i++) {
      const dueAt = now - 1_000 + Math.floor(rand() * 2_000); // half due, half in the future
      const key = keys[i % keys.length]!;
      await backend.enqueueRun({ key, id: `r${i}`, kind: 'trigger', dueAt, params: undefined, maxAttempts: 1 });
      expected.push({ id: `${key}:r${i}`, dueAt, order: i });
    }
    const due = expected.filter((e) => e.dueAt <= now).sort((a, b) => a.dueAt - b.dueAt || a.order - b.order);
    const got: string[] = [];
    for (let round = 0; round < 100; round++) {
      const batch = (await backend.claimDueRuns({ instanceId: 'i', leaseMs: 10_000, runIds: ['a', 'b', 'c', 'd', 'e', 'f', 'g'] })).runs;
      if (batch.length === 0) break;
      got.push(...batch.map((r) => `${r.key}:${r.id}`));
    }
    expect(got).toEqual(due.map((e) => e.id));
    const notDue = expected.filter((e) => e.dueAt > now);
    expect(await backend.nextDueAt()).toBe(Math.min(...notDue.map((e) => e.dueAt)));
  });

  it('forgets the pending runs of removed jobs, even when thousands pile up', async () => {
    const clock = new FakeClock();
    const backend = new MemoryBackend({ clock });
    const now = clock.now();
    const count = 3_000;
    await backend.upsertJobs(Array.from({ length: count }, (_, i) => jobUpsert(`/rm${i}`)));
    await backend.upsertJobs([jobUpsert('/survivor')]);
    for (let i = 0; i < count; i++) {
      await backend.enqueueRun({ key: `/rm${i}`, id: `x${i}`, kind: 'trigger', dueAt: now - count + i, params: undefined, maxAttempts: 1 });
    }
    await backend.enqueueRun({ key: '/survivor', id: 's', kind: 'trigger', dueAt: now + 5, params: undefined, maxAttempts: 1 });
    // Remove from the back so removed runs stay buried inside the heap.
    for (let i = count - 1; i >= 0; i--) await backend.removeJob(`/rm${i}`);
    expect(await backend.nextDueAt()).toBe(now + 5);
    await clock.advance(5);
    const claimed = (await backend.claimDueRuns({ instanceId: 'i', leaseMs: 1_000, runIds: ['a', 'b'] })).runs;
    expect(claimed.map((r) => `${r.key}:${r.id}`)).toEqual(['/survivor:s']);
  });

  it('keeps due runs it had to pass over (paused, other keys, exclusive) for later claims', async () => {
    const clock = new FakeClock();
    const backend = new MemoryBackend({ clock });
    const now = clock.now();
    await backend.upsertJobs([jobUpsert('/p'), jobUpsert('/q')]);
    await backend.setPaused('/p', true);
    for (let i = 0; i < 10; i++) {
      await backend.enqueueRun({ key: '/p', id: `p${i}`, kind: 'trigger', dueAt: now - 100 + i, params: undefined, maxAttempts: 1 });
      await backend.enqueueRun({ key: '/q', id: `q${i}`, kind: 'trigger', dueAt: now - 100 + i, params: undefined, maxAttempts: 1 });
    }
    for (let round = 0; round < 3; round++) {
      expect((await backend.claimDueRuns({ instanceId: 'i', leaseMs: 1_000, runIds: ['a'], keys: KeyTable.of(['/p', '/none']) })).runs).toEqual([]);
    }
    expect(await backend.nextDueAt()).toBe(now - 100);
    await backend.setPaused('/p', false);
    const all = (await backend.claimDueRuns({ instanceId: 'i', leaseMs: 1_000, runIds: Array.from({ length: 30 }, (_, i) => `r${i}`) })).runs;
    expect(all).toHaveLength(20);
    expect(all.slice(0, 4).map((r) => r.id)).toEqual(['p0', 'q0', 'p1', 'q1']);
  });

  it('uses the system clock by default', async () => {
    const backend = new MemoryBackend();
    const before = Date.now();
    const time = await backend.time();
    expect(time).toBeGreaterThanOrEqual(before);
    expect(time).toBeLessThanOrEqual(Date.now());
    expect(backend.kind).toBe('memory');
  });
});
