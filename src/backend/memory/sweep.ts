/**
 * The retention sweep of a memory backend (sweep.lua on Redis): finished
 * runs older than `retentionMs`, jobs no instance has seen for
 * `orphanTimeoutMs` (unless a run of theirs is active), and tombstones as
 * old. Separate because it is the one pass over every job and every finished
 * run; the backend calls it from `sweep`.
 */
import type { SweepResult } from '../backend.js';
import type { JobState } from './job-state.js';
import type { RunLedger } from './run-ledger.js';
import type { TriggerIds } from './trigger-ids.js';

/** What the sweep reads and deletes from: the backend's own state. */
export interface SweepScope {
  runs: RunLedger;
  triggerIds: TriggerIds;
  jobs: ReadonlyMap<string, JobState>;
  /** Removed keys and when. */
  tombstones: Map<string, number>;
  /** Deletes a job with its runs (the backend's `deleteJob`). */
  deleteJob(job: JobState): void;
}

export function sweep(scope: SweepScope, options: { retentionMs: number; orphanTimeoutMs: number }, now: number): SweepResult {
  let runsDeleted = 0;
  const runCutoff = now - options.retentionMs;
  for (const record of scope.runs.done) {
    if (record.finishedAt === null || record.finishedAt >= runCutoff) continue;
    scope.runs.done.delete(record);
    record.state = 'gone';
    record.job.activity?.records.delete(record.id);
    if (record.kind === 'trigger') scope.triggerIds.delete(record.job, record.id);
    runsDeleted++;
  }
  let jobsDeleted = 0;
  const jobCutoff = now - options.orphanTimeoutMs;
  // A periodic full pass over jobs: the orphan rule needs every lastSeenAt.
  for (const job of scope.jobs.values()) {
    if (job.lastSeenAt >= jobCutoff) continue;
    if (job.activity !== undefined && job.activity.active > 0) continue;
    scope.deleteJob(job);
    jobsDeleted++;
  }
  for (const [key, at] of scope.tombstones) {
    if (at < jobCutoff) scope.tombstones.delete(key);
  }
  return { runsDeleted, jobsDeleted };
}
