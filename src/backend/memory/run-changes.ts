/**
 * Changes made to a run from outside its instance: `cancelRun` and
 * `rescheduleRun` (cancel-run.lua, reschedule-run.lua), after `findRun`. Separate because each
 * decides by the run's state (pending, retrying, running, finished) and writes
 * its own history entry, apart from the claim and finish paths.
 */
import type { HistoryEntry, RunCancel, RunCancelResult, RunLookup, RunOutcome, RunReschedule, RunRescheduleResult } from '../backend.js';
import type { CancelledRunsNotifier } from '../cancelled-runs-notifier.js';
import type { JobState } from './job-state.js';
import type { RunLedger } from './run-ledger.js';
import { RunRecord } from './run-record.js';
import type { TriggerIds } from './trigger-ids.js';

/** The run `lookup` names: by job key, or a one-off run by tenant and id. */
export function findRun(jobs: ReadonlyMap<string, JobState>, triggerIds: TriggerIds, lookup: RunLookup): RunRecord | undefined {
  const job = lookup.key !== undefined ? jobs.get(lookup.key) : triggerIds.holder(lookup.tenantId ?? '', lookup.id);
  const record = job?.activity?.records.get(lookup.id);
  if (record === undefined || record.state === 'gone') return undefined;
  // By tenant, only one-off runs: slot runs are named by their job.
  return lookup.key === undefined && record.kind !== 'trigger' ? undefined : record;
}

/**
 * Cancels `record` (undefined: not found) at backend time `now`: a pending
 * run finishes as cancelled; a running one is marked (and, with `abort`,
 * its instance told); a finished one is left as it is. History gets one
 * entry per change.
 */
export function cancelRun(
  runs: RunLedger,
  cancelled: CancelledRunsNotifier,
  record: RunRecord | undefined,
  cancel: RunCancel,
  now: number,
): RunCancelResult {
  if (record === undefined || record.state === 'gone') return { status: 'not-found', run: null };
  if (record.state === 'done') {
    return { status: record.outcome === 'cancelled' ? 'cancelled' : 'finished', run: record.stored() };
  }
  if (record.state === 'pending') {
    runs.cancelPending(record, now);
    runs.pushHistory(record.job, changeEntry(record, 'cancelled', 'cancel', cancel.instanceId, now));
    return { status: 'cancelled', run: record.stored() };
  }
  const abortAsked = cancel.abort && !record.abortRequested;
  if (!record.cancelRequested || abortAsked) {
    record.cancelRequested = true;
    if (cancel.abort) record.abortRequested = true;
    runs.pushHistory(record.job, changeEntry(record, 'cancelled', cancel.abort ? 'abort' : 'cancel', cancel.instanceId, now));
    if (abortAsked) cancelled.notify({ key: record.job.key, id: record.id });
  }
  return { status: 'cancelling', run: record.stored() };
}

/**
 * Moves pending `record` to `at` (its scheduled and due time) at backend time
 * `now`; running and finished runs are left as they are. Answers the record
 * the job holds afterwards with the result.
 */
export function rescheduleRun(
  runs: RunLedger,
  record: RunRecord | undefined,
  reschedule: RunReschedule,
  now: number,
): RunRescheduleResult {
  if (record === undefined || record.state === 'gone') return { status: 'not-found', run: null };
  if (record.state === 'active') return { status: 'running', run: record.stored() };
  if (record.state === 'done') return { status: 'finished', run: record.stored() };
  const at = reschedule.at;
  if (record.scheduledAt === at && record.dueAt === at) return { status: 'rescheduled', run: record.stored() };
  const moved = movedTo(runs, record, at);
  runs.pushHistory(moved.job, changeEntry(moved, 'rescheduled', String(record.scheduledAt), reschedule.instanceId, now));
  return { status: 'rescheduled', run: moved.stored() };
}

/**
 * A copy of pending `record` at `at`, in its place: the heaps order by due
 * time, so the old record leaves them as a removed entry (`gone`) rather than
 * changing its order key while inside one.
 */
function movedTo(runs: RunLedger, record: RunRecord, at: number): RunRecord {
  const job = record.job;
  const moved = new RunRecord(job, record.id, record.kind, at, record.attempt, record.exclusive, record.params, record.requeueOnStall, record.maxAttempts);
  moved.runId = record.runId;
  if (record.where === 'index') runs.pending.due.stale++;
  record.state = 'gone';
  job.act().records.set(moved.id, moved);
  runs.pending.toPending(moved, at);
  return moved;
}

/** The history entry of a change to a run that did not run because of it (cancel, reschedule). */
function changeEntry(record: RunRecord, outcome: RunOutcome, reason: string, instanceId: string, now: number): HistoryEntry {
  return {
    runId: record.runId,
    id: record.id,
    kind: record.kind,
    scheduledAt: record.scheduledAt,
    startedAt: null,
    finishedAt: now,
    outcome,
    reason,
    error: null,
    instanceId,
    attempt: record.attempt,
  };
}
