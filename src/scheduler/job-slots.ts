import type { NormalizedJob } from '../job/normalize-job.js';

/**
 * How many attempts a run gets when its instance dies or shuts down under
 * it: the retry policy's, but at least 3, so a one-off run survives a deploy
 * even when its job says `retry: false`.
 */
export function stallAttempts(job: NormalizedJob): number {
  return Math.max(job.retry.maxRetries + 1, 3);
}

/** The job's first slot after `after`, or null when it has none. */
export function nextAfter(job: NormalizedJob, after: number): number | null {
  return job.schedule?.next(new Date(after))?.getTime() ?? null;
}
