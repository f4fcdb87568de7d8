import type { JobHandler, RunContext } from '../job/job-definition.js';

/**
 * Runs one attempt of a handler: applies the timeout, turns every way a
 * handler can fail into an outcome, and never lets a handler hold the caller.
 */
export interface JobExecutor {
  execute(request: ExecutionRequest): Promise<ExecutionResult>;
  /**
   * Starts one attempt and hands back a way to abort it, instead of taking
   * an `AbortSignal` (`request.signal` may still be given). Optional: the
   * scheduler uses it when present, and otherwise calls `execute` with a
   * signal of its own per run; a signal and its listener per run are a large
   * share of what a run costs in one process.
   */
  start?(request: ExecutionRequest): ExecutionAttempt;
}

/** An attempt started by `JobExecutor.start`. */
export interface ExecutionAttempt {
  /** What `execute` would resolve to. Never rejects. */
  readonly result: Promise<ExecutionResult>;
  /** Aborts the attempt as an abort of `request.signal` with this reason would. Later calls do nothing. */
  abort(reason: unknown): void;
}

/** One attempt to run: the handler, its context, its timeout and the signal that aborts it from outside (lock lost, shutdown). */
export interface ExecutionRequest {
  handler: JobHandler<never>;
  /** The context without `signal`; the executor builds the signal. */
  context: Omit<RunContext<unknown>, 'signal'>;
  timeoutMs: number;
  /**
   * Aborts the run from outside: lock lost (`LockLostError`), shutdown
   * (`ShutdownError`) or cancel (`CancelledError`). Its reason becomes the
   * run's signal reason.
   */
  signal?: AbortSignal;
}

/** How one attempt ended. */
export type ExecutionOutcome = 'success' | 'failed' | 'timeout' | 'lock-lost' | 'interrupted' | 'cancelled';

/** What one attempt came to: its outcome, its error, its duration, and whether the handler was still running when it was given up. */
export interface ExecutionResult {
  outcome: ExecutionOutcome;
  /** The failure, normalised to an `Error` (the original is its `cause` when it was not one). */
  error: Error | null;
  /** Clock time the handler was called. */
  startedAt: number;
  /** Clock time the outcome was decided (the abort, or the settle). */
  finishedAt: number;
  /**
   * True when the outcome was decided by an abort while the handler had not
   * settled: the caller keeps its concurrency slot (and lock) until `settled`.
   */
  abandoned: boolean;
  /** Resolves (never rejects) when the handler's promise has settled. */
  settled: Promise<void>;
}
