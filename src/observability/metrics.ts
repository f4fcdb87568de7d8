/**
 * Counters and timings schedkit reports. Bind an implementation to export
 * them (Prometheus, StatsD); `InMemoryMetrics` keeps them for tests.
 * Every method must be cheap and must not throw.
 */
export interface MetricsCollector {
  /** A run's handler was started. */
  runStarted(job: string): void;
  /** A run finished successfully after `durationMs`. */
  runCompleted(job: string, durationMs: number): void;
  /** A run failed (threw, rejected, timed out or lost its lock). */
  runFailed(job: string): void;
  /** A failed run was scheduled for another attempt. */
  runRetried(job: string): void;
  /** A run exceeded its timeout. */
  runTimedOut(job: string): void;
  /** A slot was skipped (overlap). */
  runSkipped(job: string): void;
  /** A run whose instance died was found and marked stalled. */
  runStalled(job: string): void;
  /** A handler was still running after its run was given up (timeout, lock loss, shutdown). */
  runAbandoned(job: string): void;
  /** A lock was acquired after waiting `waitMs`. */
  lockAcquired(waitMs: number): void;
  /** A lock could not be acquired because someone else held it. */
  lockContended(): void;
  /** A held lock could not be refreshed. */
  lockLost(): void;
  /** How late a run started relative to its slot (start - scheduledAt). */
  fireLateness(job: string, ms: number): void;
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
  lockAcquired(): void {}
  lockContended(): void {}
  lockLost(): void {}
  fireLateness(): void {}
}
