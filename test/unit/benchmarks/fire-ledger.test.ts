import { describe, expect, it } from 'vitest';
import { checks, type Outcome, type Plan } from '../../../benchmarks/suites/fire-accuracy.js';
import { classifyUnfired, PhaseRecord, type Incidents } from '../../../benchmarks/suites/fire/harness.js';
import type { PhaseResult } from '../../../benchmarks/suites/fire/protocol.js';

// The fire-accuracy suite's ledger: every phase it reports is checked (the
// 10,000 jobs/s one included), and a slot that never ran is skipped (overlap
// policy), dropped (misfire policy) or lost (nothing accounts for it: the
// check fails). Definitions: benchmarks/README.md, "Missed, skipped, lost".

const PLAN: Plan = {
  phases: [
    { jobs: 1, warmMs: 0, windowMs: 2_000 },
    { jobs: 1_000, warmMs: 0, windowMs: 2_000 },
    { jobs: 10_000, warmMs: 0, windowMs: 2_000 },
  ],
  drainMs: 1_000,
};

function phase(jobs: number, unfired: { skipped?: number; dropped?: number; lost?: number } = {}): PhaseResult {
  const expected = jobs * 2;
  const missed = (unfired.skipped ?? 0) + (unfired.dropped ?? 0) + (unfired.lost ?? 0);
  return {
    jobs,
    windowStart: 0,
    windowMs: 2_000,
    expected,
    fires: expected - missed,
    duplicatePairs: 0,
    duplicateFires: 0,
    missed,
    skipped: unfired.skipped ?? 0,
    dropped: unfired.dropped ?? 0,
    pending: 0,
    lost: unfired.lost ?? 0,
    lateRan: 0,
    unexpected: 0,
    p50Ms: 1,
    p90Ms: 1,
    p99Ms: 1,
    maxMs: 1,
    minMs: 1,
    meanMs: 1,
    histogram: [],
    cpuWindowMs: 1_000,
    firesInCpuWindow: expected,
    cpuMs: 1,
  };
}

function outcomes(tenK: PhaseResult): Outcome[] {
  return (['schedkit-memory', 'schedkit-redis'] as const).map((contender) => ({
    contender,
    result: { contender, runMs: 1, phases: [phase(1), phase(1_000), contender === 'schedkit-redis' ? tenK : phase(10_000)] },
  }));
}

const tenKCheck = (list: ReturnType<typeof checks>) => list.find((c) => c.name.startsWith('schedkit-redis, 10,000 jobs'));

describe('fire-accuracy ledger', () => {
  it('checks the 10,000 jobs/s phase too: a lost slot there fails the run', () => {
    const check = tenKCheck(checks(PLAN, outcomes(phase(10_000, { lost: 3 }))));
    expect(check, 'no check covers the 10,000 jobs/s phase').toBeDefined();
    expect(check!.ok).toBe(false);
    expect(check!.detail).toContain('3 lost');
  });

  it('counts slots the policies skipped without failing, and says so', () => {
    const check = tenKCheck(checks(PLAN, outcomes(phase(10_000, { skipped: 40, dropped: 500 }))));
    expect(check!.ok).toBe(true);
    expect(check!.detail).toContain('40 skipped by the overlap policy, 500 dropped by the misfire policy, 0 pending in the store at the stop (not run yet), 0 lost');
  });

  it('sorts each slot that never fired into skipped, dropped or lost; a logged drop explains no more slots than it dropped', () => {
    // 3 jobs x 4 slots from t = 100 s; job 0 fired everywhere.
    const start = 100_000;
    const record = new PhaseRecord(3, start, 4_000);
    for (let index = 0; index < 4; index++) record.counts[0 * 4 + index] = 1;
    record.counts[1 * 4 + 3] = 1; // job 1: slots 0..2 never fired
    // job 2: nothing fired
    const incidents: Incidents = {
      counts: {},
      // Job 1's slot 0 skipped by the overlap policy.
      skipped: new Map([[1, new Set([start])]]),
      drops: [
        // Job 1: slots 1 and 2 missed, the newest kept (run-once): slot 1 dropped, logged as (slot 0, slot 2).
        { job: 1, dropped: 1, after: start, before: start + 2_000 },
        // Job 2: a drop long before the window explains none of it.
        { job: 2, dropped: 10, after: start - 60_000, before: start - 50_000 },
      ],
    };
    expect(classifyUnfired(record, incidents)).toEqual({ missed: 7, skipped: 1, dropped: 1, pending: 0, lost: 5 });
    // A run still pending in the store at the stop (job 2, slot 3) is not lost.
    expect(classifyUnfired(record, { ...incidents, pending: new Map([[2, new Set([start + 3_000])]]) })).toEqual({
      missed: 7,
      skipped: 1,
      dropped: 1,
      pending: 1,
      lost: 4,
    });
    // Without the scheduler's reports, every slot that never fired is lost.
    expect(classifyUnfired(record, undefined)).toEqual({ missed: 7, skipped: 0, dropped: 0, pending: 0, lost: 7 });
  });
});
