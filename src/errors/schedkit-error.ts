/**
 * Every error schedkit raises on purpose is a `SchedkitError` with a stable
 * `code`. Callers branch on `code`, never on message text.
 */
export const ErrorCode = {
  /** Configuration failed validation; `problems` lists every bad field. */
  Config: 'E_CONFIG',
  /** A schedule (cron, interval, once, startAt/endAt/limit) is not valid. */
  InvalidSchedule: 'E_INVALID_SCHEDULE',
  /** A job definition is not valid (name, tenant, handler, options). */
  InvalidJob: 'E_INVALID_JOB',
  /** Job or trigger params are not plain JSON (or too large). */
  InvalidParams: 'E_INVALID_PARAMS',
  /** Any other argument of a public call is not valid. */
  InvalidArgument: 'E_INVALID_ARGUMENT',
  /** The identity (tenantId, name) is already registered on this scheduler. */
  DuplicateJob: 'E_DUPLICATE_JOB',
  /** No job with that identity is registered. */
  JobNotFound: 'E_JOB_NOT_FOUND',
  /** No run with that id is stored (never enqueued, or finished and swept). */
  RunNotFound: 'E_RUN_NOT_FOUND',
  /** The run has finished: it can no longer be cancelled or rescheduled. */
  RunFinished: 'E_RUN_FINISHED',
  /** The run is running: it can be cancelled (with `abort`), not rescheduled. */
  RunRunning: 'E_RUN_RUNNING',
  /** A run was cancelled while running (`cancel(id, { abort: true })`). */
  Cancelled: 'E_CANCELLED',
  /** A run exceeded its `timeoutMs`. */
  Timeout: 'E_TIMEOUT',
  /** A run's lock could not be refreshed: expired, taken over or unreachable. */
  LockLost: 'E_LOCK_LOST',
  /** `using` gave up: the lock stayed held by someone else past `waitMs` (`acquire` resolves null instead). */
  LockNotAcquired: 'E_LOCK_NOT_ACQUIRED',
  /** A run was aborted because the scheduler is shutting down. */
  Shutdown: 'E_SHUTDOWN',
  /** The backend (Redis) could not be reached. */
  BackendUnavailable: 'E_BACKEND_UNAVAILABLE',
  /** The operation needs a started scheduler. */
  NotStarted: 'E_NOT_STARTED',
  /** The scheduler is stopping or stopped and takes no new work. */
  Stopped: 'E_STOPPED',
  /** A handler threw or rejected with something that is not an `Error`. */
  HandlerError: 'E_HANDLER',
  /** A lifecycle start failed (the started hooks were rolled back). */
  StartFailed: 'E_START_FAILED',
  /** A lifecycle stop finished with errors (every hook still ran). */
  StopFailed: 'E_STOP_FAILED',
  /** A lifecycle hook did not finish within its deadline. */
  HookTimeout: 'E_HOOK_TIMEOUT',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

// Branded with a registry symbol so `SchedkitError.is()` works even when two
// copies of the package end up in one process (npm dedupe failures, monorepos).
const BRAND = Symbol.for('schedkit/SchedkitError');

/** What a `SchedkitError` carries besides its code and message. */
export interface SchedkitErrorOptions {
  cause?: unknown;
  /** Structured facts about the error (job name, field, ...), logged as is. */
  details?: Record<string, unknown>;
}

/** The base of every error schedkit throws or reports: a stable `code` (`E_CONFIG`, `E_JOB_NOT_FOUND`, ...), a message naming the field or job, optional `details`, and the original `cause`. `SchedkitError.is(error, code)` works across package copies. */
export class SchedkitError extends Error {
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, options: SchedkitErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = Object.freeze({ ...options.details });
    Object.defineProperty(this, BRAND, { value: true });
  }

  override get name(): string {
    return this.constructor.name;
  }

  /** True for any schedkit error (optionally with the given code), across package copies. */
  static is(value: unknown, code?: ErrorCode): value is SchedkitError {
    if (typeof value !== 'object' || value === null) return false;
    if ((value as Record<symbol, unknown>)[BRAND] !== true) return false;
    return code === undefined || (value as SchedkitError).code === code;
  }
}

/** Every configuration problem found in one pass. */
export class ConfigError extends SchedkitError {
  readonly problems: readonly string[];
  constructor(problems: readonly string[], where = 'SchedulerConfig') {
    super(ErrorCode.Config, `${where}: ${problems.join('; ')}`, { details: { problems } });
    this.problems = Object.freeze([...problems]);
  }
}

/** A run outlived its `timeoutMs`; its signal aborts with this error (`E_TIMEOUT`). */
export class TimeoutError extends SchedkitError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(ErrorCode.Timeout, message, { details });
  }
}

/** A run's lock could not be refreshed (expired, taken over or unreachable); its signal aborts with this error (`E_LOCK_LOST`). */
export class LockLostError extends SchedkitError {
  constructor(message: string, options?: SchedkitErrorOptions) {
    super(ErrorCode.LockLost, message, options);
  }
}

/** The scheduler stopped while a run was in flight and its drain time ran out; its signal aborts with this error (`E_SHUTDOWN`). */
export class ShutdownError extends SchedkitError {
  constructor(message = 'the scheduler is shutting down') {
    super(ErrorCode.Shutdown, message);
  }
}

/** A running run was cancelled with `cancel(id, { abort: true })`; its signal aborts with this error (`E_CANCELLED`) and it is not retried. */
export class CancelledError extends SchedkitError {
  constructor(message = 'the run was cancelled') {
    super(ErrorCode.Cancelled, message);
  }
}

/** The backend (Redis) could not be reached or answered too late (`E_BACKEND_UNAVAILABLE`); the call changed nothing it did not report. */
export class BackendUnavailableError extends SchedkitError {
  constructor(message: string, cause?: unknown) {
    super(ErrorCode.BackendUnavailable, message, { cause });
  }
}

/** A start or stop that failed; `errors` holds every underlying failure. */
export class LifecycleError extends SchedkitError {
  readonly errors: readonly Error[];
  constructor(code: typeof ErrorCode.StartFailed | typeof ErrorCode.StopFailed, message: string, errors: readonly Error[]) {
    super(code, message, { cause: errors.length === 1 ? errors[0] : undefined });
    this.errors = Object.freeze([...errors]);
  }
}
