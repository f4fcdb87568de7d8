/**
 * What an attempt's outcome leads to, apart from recording it: whether the
 * run goes back for another attempt (decided once per attempt: a retry delay
 * may be random), and the events and metrics that tell it.
 */
import type { ClaimedRun } from '../backend/backend.js';
import { jobLabel } from '../errors/messages.js';
import { SchedkitError } from '../errors/schedkit-error.js';
import type { ExecutionResult } from '../executor/job-executor.js';
import { retryDelayMs } from '../executor/retry-policy.js';
import type { NormalizedJob } from '../job/normalize-job.js';
import type { MetricsCollector } from '../observability/metrics.js';
import type { RunEvent, SchedulerEventEmitter } from './events.js';

/** Whether the attempt goes back to the store for another attempt (`retryInMs`) or the same one (`requeueInMs`). */
export interface NextAttempt {
  retryInMs: number | undefined;
  requeueInMs: number | undefined;
}

/** Decides the attempt after `result`. */
export function nextAttempt(job: NormalizedJob, claimed: ClaimedRun, result: ExecutionResult): NextAttempt {
  const failed = result.outcome === 'failed' || result.outcome === 'timeout' || result.outcome === 'lock-lost';
  // Delays, not instants: the backend makes them due on its own clock.
  const retryInMs = failed && claimed.attempt <= job.retry.maxRetries ? retryDelayMs(job.retry, claimed.attempt) : undefined;
  // A run cut short by shutdown goes back for another instance, unless it is
  // a slot whose job says missed slots are skipped.
  const requeueInMs = result.outcome === 'interrupted' && (claimed.kind === 'trigger' || job.misfire !== 'skip') ? 0 : undefined;
  return { retryInMs, requeueInMs };
}

/** Emits the events of the attempt's outcome (and counts a retry and a lost lease). */
export function announceOutcome(
  deps: { metrics: MetricsCollector; events: SchedulerEventEmitter },
  job: NormalizedJob,
  claimed: ClaimedRun,
  result: ExecutionResult,
  event: RunEvent,
  endedAt: number,
  next: NextAttempt,
): void {
  const { metrics, events } = deps;
  const durationMs = result.finishedAt - result.startedAt;
  if (result.outcome === 'success') {
    if (events.has('run:success')) events.emit('run:success', { ...event, durationMs });
    return;
  }
  if (result.outcome === 'cancelled') {
    events.emit('run:cancelled', { ...event, while: 'running' });
    return;
  }
  const error = result.error ?? new SchedkitError('E_HANDLER', `${jobLabel(job.name, job.tenantId)} failed`);
  const { retryInMs } = next;
  if (result.outcome === 'timeout') events.emit('run:timeout', { ...event, error, durationMs });
  if (result.outcome === 'lock-lost') {
    metrics.lockLost();
    events.emit('lock:lost', { ...event, error });
  }
  events.emit('run:failure', { ...event, error, durationMs, outcome: result.outcome, willRetry: retryInMs !== undefined });
  if (retryInMs !== undefined) {
    metrics.runRetried(job.name, job.tenantId);
    // The backend's due time, as the aligned clock estimates it (for an
    // abandoned handler, the delay runs from when it settles).
    events.emit('run:retry', { ...event, error, retryAt: new Date(endedAt + retryInMs), nextAttempt: claimed.attempt + 1 });
  }
}
