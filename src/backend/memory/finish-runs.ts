import type { RunFinish } from '../backend.js';
import type { RunLedger } from './run-ledger.js';
import type { RunRecord } from './run-record.js';

/**
 * Ends active `record` as `finish` says, at backend time `now`: history,
 * counters, then retry, requeue or retire (`finish` in finish-runs.lua; a run
 * `cancelRun` was called on always retires). The
 * caller has checked that the run is active under the finish's fencing token.
 * Returns whether runs may have become claimable (listeners should be told).
 */
export function finishRun(runs: RunLedger, record: RunRecord, finish: RunFinish, now: number): boolean {
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
    reason: null,
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
  if (record.cancelRequested) {
    // Cancelled while it ran: it ends with the outcome sent, never again.
    runs.retire(record, finish.outcome, now);
  } else if (finish.retryInMs !== undefined) {
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
