/**
 * The decision a slot claim makes for one job (`claim` in claim-slots.lua):
 * removed, superseded, early, taken, completed, paused, excluded (skipped),
 * buffered, skipped, limited or claimed; and the record of a previous slot
 * nobody claimed. Separate because it is the densest rule set of the backend
 * (overlap policies, limits, the dedup mark) and reads best as one function
 * over a job and the run ledger.
 */
import type { HistoryEntry, SlotClaim, SlotClaimResult } from '../backend.js';
import type { JobState } from './job-state.js';
import type { RateWindows } from './rate-windows.js';
import type { RunLedger } from './run-ledger.js';
import { RunRecord } from './run-record.js';

/** Claims `claim.slot` of `job` (undefined when no such job) at backend time `now`, under the job's rate limit in `rates`. */
export function claimSlot(
  runs: RunLedger,
  rates: RateWindows,
  job: JobState | undefined,
  claim: SlotClaim,
  now: number,
): SlotClaimResult {
  if (job === undefined) return { status: 'removed' };
  if (job.def.hash !== claim.definitionHash) return { status: 'superseded', stored: job.snapshot() };
  if (now < claim.slot) return { status: 'early', retryInMs: claim.slot - now };
  if (job.lastSlot !== null && claim.slot <= job.lastSlot) return { status: 'taken' };
  if (job.completed) return { status: 'completed' };

  recordMissed(runs, job, claim);
  job.lastSeenAt = now;
  if (job.paused) {
    job.lastSlot = claim.slot;
    job.nextRunAt = claim.nextRunAt;
    if (claim.nextRunAt === null) job.completed = true;
    return { status: 'paused' };
  }

  if (claim.skip !== undefined) {
    // Consumed like a skip, but not counted toward the limit: it never ran.
    job.lastSlot = claim.slot;
    job.nextRunAt = claim.nextRunAt;
    job.act().skippedCount++;
    if (claim.nextRunAt === null) job.completed = true;
    runs.pushHistory(job, skippedEntry(claim, claim.skip));
    return { status: 'skipped' };
  }

  const busy = job.activity !== undefined && job.activity.activeExclusive > 0;
  if (busy && claim.overlap !== 'allow') {
    // `queue` (misfire catch-up) waits like `buffer-one`, without the limit of one.
    if (claim.overlap === 'queue' || (claim.overlap === 'buffer-one' && !hasBufferedSlot(job))) {
      const record = new RunRecord(
        job,
        claim.runId,
        'slot',
        claim.slot,
        1,
        true,
        undefined,
        claim.requeueOnStall,
        claim.maxAttempts,
      );
      job.act().records.set(record.id, record);
      runs.pending.toPending(record, claim.slot);
      job.lastSlot = claim.slot;
      job.slotCount++;
      job.nextRunAt = claim.nextRunAt;
      // The buffered slot counts toward the limit now, so no later slot can
      // be claimed past it while this one waits.
      job.completed = reachedEnd(job);
      return { status: 'buffered', run: record.summary() };
    }
    job.lastSlot = claim.slot;
    job.nextRunAt = claim.nextRunAt;
    job.act().skippedCount++;
    if (claim.nextRunAt === null) job.completed = true;
    runs.pushHistory(job, skippedEntry(claim, 'overlap'));
    return { status: 'skipped' };
  }

  // Only a run that starts takes room (not a skip, buffer or pause); a
  // limited claim leaves the slot unconsumed for the next try.
  const limit = job.rateLimit;
  if (limit !== null) {
    const waitMs = rates.waitMs(limit, now);
    if (waitMs > 0) return { status: 'limited', retryInMs: waitMs };
    rates.take(limit, now);
  }
  job.lastSlot = claim.slot;
  job.slotCount++;
  job.nextRunAt = claim.nextRunAt;
  job.completed = reachedEnd(job);
  const record = new RunRecord(
    job,
    claim.runId,
    'slot',
    claim.slot,
    1,
    claim.overlap !== 'allow',
    undefined,
    claim.requeueOnStall,
    claim.maxAttempts,
  );
  job.act().records.set(record.id, record);
  runs.activate(record, claim.runId, claim.instanceId, claim.leaseMs, now);
  return { status: 'claimed', run: record.claimed() };
}

/**
 * Records the slots of `claim.previousSlots` nobody claimed (a claim of a
 * later slot makes them taken): skipped with reason missed, oldest first,
 * and consumed, so a repeat of the claim records nothing.
 */
function recordMissed(runs: RunLedger, job: JobState, claim: SlotClaim): void {
  const previous = claim.previousSlots;
  if (previous === undefined) return;
  for (let i = previous.length - 1; i >= 0; i--) {
    const slot = previous[i]!;
    if (slot < job.createdAt || (job.lastSlot !== null && slot <= job.lastSlot)) continue;
    job.lastSlot = slot;
    runs.pushHistory(job, { ...skippedEntry(claim, 'missed'), runId: `missed-${slot}`, id: `missed-${slot}`, scheduledAt: slot });
  }
}

/** The history entry of a slot consumed without running. */
function skippedEntry(claim: SlotClaim, reason: 'overlap' | 'missed' | NonNullable<SlotClaim['skip']>): HistoryEntry {
  return {
    runId: claim.runId,
    id: claim.runId,
    kind: 'slot',
    scheduledAt: claim.slot,
    startedAt: null,
    finishedAt: null,
    outcome: 'skipped',
    reason,
    error: null,
    instanceId: claim.instanceId,
    attempt: 1,
  };
}

/** The buffered slot of `buffer-one`: a pending, exclusive, first-attempt slot run. */
function hasBufferedSlot(job: JobState): boolean {
  if (job.activity === undefined) return false;
  for (const record of job.activity.records.values()) {
    if (record.state === 'pending' && record.exclusive && record.kind === 'slot' && record.attempt === 1) return true;
  }
  return false;
}

function reachedEnd(job: JobState): boolean {
  const limit = job.def.limit;
  return job.nextRunAt === null || (limit !== null && job.slotCount >= limit);
}
