/**
 * Counters and timings schedkit reports. Bind an implementation to export
 * them (Prometheus, StatsD); `InMemoryMetrics` keeps them for tests.
 *
 * Labels: every run metric gets the job's `name` and its `tenantId`
 * (`undefined` for a job without a tenant) as two arguments, never a joined
 * key, so each maps to a label of its own (`job="report", tenant=""`). Lock
 * metrics are per instance and take no job. The arguments are the job's own
 * strings, passed without allocation: every method is called on the fire
 * path, so it must be cheap, and it must not throw.
 */
export interface MetricsCollector {
  /** A run's handler is about to be called (every attempt, once each), on the instance that runs it. */
  runStarted(job: string, tenantId: string | undefined): void;
  /** A run's handler resolved; `durationMs` from its start to its end on the local clock. */
  runCompleted(job: string, tenantId: string | undefined, durationMs: number): void;
  /** A run ended in failure: the handler threw or rejected, timed out, lost its lock, or was interrupted by shutdown. Once per failed attempt (a cancelled one is `runCancelled`). */
  runFailed(job: string, tenantId: string | undefined): void;
  /** A failed attempt was put back to run again per the job's retry policy (after its `runFailed`). */
  runRetried(job: string, tenantId: string | undefined): void;
  /** A run exceeded its `timeoutMs` (also counted by `runFailed`). */
  runTimedOut(job: string, tenantId: string | undefined): void;
  /** A slot passed without a run because the previous run was still going (`overlap: 'skip'`). */
  runSkipped(job: string, tenantId: string | undefined): void;
  /** A run whose instance stopped heartbeating was found and marked stalled, by the instance that reaped it. */
  runStalled(job: string, tenantId: string | undefined): void;
  /**
   * A run was cancelled: a pending or retrying one, counted by the instance
   * that cancelled it; a running one aborted by `cancel(id, { abort: true })`,
   * counted by the instance that ran it (instead of `runFailed`).
   */
  runCancelled(job: string, tenantId: string | undefined): void;
  /** A handler was still running when its run was given up (timeout, lock loss, shutdown): it ignored its signal. */
  runAbandoned(job: string, tenantId: string | undefined): void;
  /** A run's lock was acquired after waiting `waitMs` (0 when it was free). */
  lockAcquired(waitMs: number): void;
  /** A run's lock was held by someone else, so the run was put back. */
  lockContended(): void;
  /** A held run lock could not be refreshed (expired, taken over, or its store unreachable). */
  lockLost(): void;
  /** How late a run's first attempt started after its slot or due time, in ms (start - scheduledAt; retries are not counted). */
  fireLateness(job: string, tenantId: string | undefined, ms: number): void;
  /**
   * A slot claim met its rate limit `key` used up: the slot is claimed again
   * in `waitMs` (the wait also shows in its `fireLateness`). Labelled by the
   * rate key, which many jobs share.
   */
  rateLimitWait(key: string, waitMs: number): void;
}

/** Discards everything. */
export class NoopMetrics implements MetricsCollector {
  runStarted(): void {}
  runCompleted(): void {}
  runFailed(): void {}
  runRetried(): void {}
  runTimedOut(): void {}
  runSkipped(): void {}
  runStalled(): void {}
  runAbandoned(): void {}
  runCancelled(): void {}
  lockAcquired(): void {}
  lockContended(): void {}
  lockLost(): void {}
  fireLateness(): void {}
  rateLimitWait(): void {}
}
