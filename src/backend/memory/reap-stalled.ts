import { messages } from '../../errors/messages.js';
import type { StalledRun } from '../backend.js';
import type { RunLedger } from './run-ledger.js';

/**
 * Ends every active run whose lease ran out before `now` as stalled: requeued
 * when it may try again, retired otherwise (reap-stalled.lua). `wake` says
 * whether runs may have become claimable.
 */
export function reapStalled(runs: RunLedger, now: number): { stalled: StalledRun[]; wake: boolean } {
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
      reason: null,
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
    const requeued = record.requeueOnStall && record.attempt < record.maxAttempts && !record.cancelRequested;
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
