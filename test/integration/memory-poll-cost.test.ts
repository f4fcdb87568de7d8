import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { SlotClaim } from '../../src/backend/backend.js';
import { KeyTable } from '../../src/backend/key-table.js';
import { MemoryBackend } from '../../src/backend/memory/memory-backend.js';
import { FakeClock } from '../../src/clock/fake-clock.js';
import { jobUpsert } from '../helpers/fixtures.js';

/**
 * The memory backend's poll, like Redis's, must not read runs it cannot
 * claim: a paused job's backlog and exclusive catch-ups behind an active
 * run wait outside the due heap. Measured as the median time of a poll with
 * 30,000 such runs against one with none.
 */

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function queueClaim(key: string, slot: number, overlap: SlotClaim['overlap'] = 'queue'): SlotClaim {
  return {
    key, slot, runId: randomUUID(), instanceId: 'i', leaseMs: 600_000, definitionHash: 'h1',
    overlap, nextRunAt: slot + 1, requeueOnStall: false, maxAttempts: 1,
  };
}

async function pollTime(parked: number): Promise<number> {
  const clock = new FakeClock();
  const backend = new MemoryBackend({ clock });
  await backend.upsertJobs([jobUpsert('/paused'), jobUpsert('/exclusive'), jobUpsert('/free')]);
  const now = await backend.time();
  const half = parked / 2;
  for (let i = 0; i < half; i++) {
    if (i === half / 2) await backend.setPaused('/paused', true);
    await backend.enqueueRun({ key: '/paused', id: `p${i}`, kind: 'trigger', dueAt: now - 1_000_000 + i, params: undefined, maxAttempts: 1 });
  }
  await backend.setPaused('/paused', true);
  if (half > 0) {
    expect((await backend.claimSlot(queueClaim('/exclusive', now - 1_000_000, 'skip'))).status).toBe('claimed');
    const claims = Array.from({ length: half }, (_, i) => queueClaim('/exclusive', now - 999_999 + i));
    expect((await backend.claimSlots(claims)).every((r) => r.status === 'buffered')).toBe(true);
  }
  const keys = KeyTable.of(['/paused', '/exclusive', '/free']);
  const poll = async () => {
    const result = await backend.claimDueRuns({ instanceId: 'i', leaseMs: 60_000, runIds: [randomUUID()], keys });
    expect(result.runs).toEqual([]);
  };
  for (let i = 0; i < 5; i++) await poll();
  const times: number[] = [];
  for (let i = 0; i < 31; i++) {
    const start = performance.now();
    await poll();
    times.push(performance.now() - start);
  }
  return median(times);
}

describe('MemoryBackend poll cost', () => {
  it('a poll costs the same with 30,000 runs it cannot claim as with none', async () => {
    const base = await pollTime(0);
    const loaded = await pollTime(30_000);
    expect(loaded).toBeLessThanOrEqual(Math.max(3 * base, base + 1));
  }, 60_000);
});
