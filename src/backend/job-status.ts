import type { JobStatus, StoredJob } from './backend.js';

const FAILURES = new Set(['failed', 'timeout', 'lock-lost', 'stalled']);

/**
 * The status shown by `getJob`, derived from stored state so every backend
 * reports it the same way: paused wins, then a run in progress, then a
 * failed last run (even of a job that will not run again), then completion.
 */
export function jobStatus(job: StoredJob): JobStatus {
  if (job.paused) return 'paused';
  if (job.activeRuns > 0) return 'running';
  if (job.lastOutcome !== null && FAILURES.has(job.lastOutcome)) return 'failed';
  if (job.completed) return 'completed';
  return 'scheduled';
}
