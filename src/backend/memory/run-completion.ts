/**
 * How an active run ends: finished by its instance (success, failure, retry,
 * requeue) or reaped when its lease ran out. Separate because both write the
 * same history and counters and choose between "pending again" and "retired",
 * apart from how runs are claimed.
 */
import { messages } from '../../errors/messages.js';
import type { RunFinish, StalledRun } from '../backend.js';
import type { RunLedger } from './run-ledger.js';
import type { RunRecord } from './run-record.js';

/**
 * Ends active `record` as `finish` says, at backend time `now`: history,
 * counters, then retry, requeue or retire. Returns whether runs may have become
 * claimable (listeners should be told).
 */
export function endActiveRun(runs: RunLedger, record: RunRecord, finish: RunFinish, now: number): boolean {
  const job = record.job;
  const a = job.act();
  const finishedAt = now - Math.max(0, finish.endedMsAgo ?? 0);
  const startedAt = finishedAt - Math.max(0, finish.durationMs);
  runs.pushHistory(job, {
    runId: record.runId,
    id: record.id,
    kind: record.kind,
    scheduledAt: record.scheduledAt,
    startedAt,
    finishedAt,
    outcome: finish.outcome,
    error: finish.error,
    instanceId: finish.instanceId,
    attempt: record.attempt,
  });
  if (finish.outcome !== 'interrupted') {
    a.runCount++;
    if (finish.outcome !== 'success') a.failCount++;
    a.lastRunAt = startedAt;
    a.lastDurationMs = finishedAt - startedAt;
    a.lastError = finish.outcome === 'success' ? null : finish.error;
    a.lastOutcome = finish.outcome;
  }
  runs.deactivate(record);
  let backToPending = false;
  if (finish.retryInMs !== undefined) {
    record.attempt++;
    runs.pending.toPending(record, now + finish.retryInMs);
    backToPending = true;
  } else if (finish.requeueInMs !== undefined) {
    runs.pending.toPending(record, now + finish.requeueInMs);
    backToPending = true;
  } else {
    runs.retire(record, finish.outcome, now);
  }
  return backToPending || record.exclusive;
}

/**
 * Ends every active run whose lease ran out before `now` as stalled: requeued
 * when it may try again, retired otherwise. `wake` says whether runs may have
 * become claimable.
 */
export function reapExpiredLeases(runs: RunLedger, now: number): { stalled: StalledRun[]; wake: boolean } {
  const stalled: StalledRun[] = [];
  let wake = false;
  // Deleting from a Set or Map while iterating it is well defined in JS.
  for (const record of runs.active) {
    if (record.leaseUntil >= now) continue;
    const job = record.job;
    const error = messages.runStalled(record.instanceId, now - record.leaseUntil);
    runs.pushHistory(job, {
      runId: record.runId,
      id: record.id,
      kind: record.kind,
      scheduledAt: record.scheduledAt,
      startedAt: record.claimedAt,
      finishedAt: now,
      outcome: 'stalled',
      error,
      instanceId: record.instanceId,
      attempt: record.attempt,
    });
    const a = job.act();
    a.runCount++;
    a.failCount++;
    a.lastOutcome = 'stalled';
    a.lastError = error;
    const attempt = record.attempt;
    runs.deactivate(record);
    const requeued = record.requeueOnStall && record.attempt < record.maxAttempts;
    if (requeued) {
      record.attempt++;
      runs.pending.toPending(record, now);
    } else {
      runs.retire(record, 'stalled', now);
    }
    if (requeued || record.exclusive) wake = true;
    stalled.push({
      key: job.key,
      id: record.id,
      kind: record.kind,
      scheduledAt: record.scheduledAt,
      attempt,
      instanceId: record.instanceId,
      requeued,
    });
  }
  return { stalled, wake };
}
