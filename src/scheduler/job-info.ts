/**
 * The public view of a job (`JobInfo`) built from what the backend stores,
 * or from a local registration not stored yet. Separate from the facade so
 * the mapping of stored fields to the public shape lives in one place.
 */
import type { StoredJob } from '../backend/backend.js';
import { jobStatus } from '../backend/job-status.js';
import type { NormalizedJob } from '../job/normalize-job.js';
import { nextAfter } from './job-slots.js';
import type { JobInfo } from './types.js';

/** A job as the cluster stores it; `registeredHere` says whether this instance has it. */
export function storedJobInfo(stored: StoredJob, registeredHere: boolean): JobInfo {
  return {
    name: stored.name,
    tenantId: stored.tenantId,
    schedule: stored.schedule,
    status: jobStatus(stored),
    nextRunAt: stored.completed ? null : toDate(stored.nextRunAt),
    lastRunAt: toDate(stored.lastRunAt),
    lastDurationMs: stored.lastDurationMs,
    lastError: stored.lastError,
    runCount: stored.runCount,
    failCount: stored.failCount,
    skippedCount: stored.skippedCount,
    registeredHere,
  };
}

/** A job registered here but not yet synced (before start); `now` is backend time. */
export function unsyncedJobInfo(job: NormalizedJob, now: number): JobInfo {
  return {
    name: job.name,
    tenantId: job.tenantId,
    schedule: job.schedule?.descriptor ?? null,
    status: 'scheduled',
    nextRunAt: job.schedule === null ? null : toDate(nextAfter(job, now)),
    lastRunAt: null,
    lastDurationMs: null,
    lastError: null,
    runCount: 0,
    failCount: 0,
    skippedCount: 0,
    registeredHere: true,
  };
}

export function toDate(ms: number | null): Date | null {
  return ms === null ? null : new Date(ms);
}
