import { setMaxListeners } from 'node:events';
import { types } from 'node:util';
import type { Clock, TimerHandle } from '../clock/clock.js';
import { MAX_TIMER_MS } from '../clock/timer-limit.js';
import { messages, jobLabel } from '../errors/messages.js';
import { ErrorCode, SchedkitError, TimeoutError } from '../errors/schedkit-error.js';
import type { RunContext } from '../job/job-definition.js';
import type { Logger, LogFields } from '../observability/logger.js';
import type { MetricsCollector } from '../observability/metrics.js';
import type { ExecutionAttempt, ExecutionOutcome, ExecutionRequest, ExecutionResult, JobExecutor } from './job-executor.js';

/** What `DefaultJobExecutor` is built from. */
export interface DefaultJobExecutorDeps {
  readonly clock: Clock;
  /** Fallback for reports when a run's own logger throws. */
  readonly logger: Logger;
  readonly metrics: MetricsCollector;
}

// Shared by every run that ends without an abandoned handler: no allocation.
const SETTLED: Promise<void> = Promise.resolve();
const ONCE = { once: true } as const;
/** Signals whose listener limit is already lifted: `setMaxListeners` costs more than the rest of a run's setup. */
const unlimited = new WeakSet<AbortSignal>();

/**
 * The default `JobExecutor`: runs one attempt of a handler with a timeout
 * and an external abort signal, and reports the outcome.
 *
 * - The handler gets the context's fields and `signal`, which aborts with a
 *   `TimeoutError` (`E_TIMEOUT`) at `timeoutMs`, or with the external
 *   signal's reason (`LockLostError` → `lock-lost`, `ShutdownError` →
 *   `interrupted`, `CancelledError` → `cancelled`, anything else → `failed`).
 * - A synchronous throw, a rejection, a thrown non-Error value, a plain return
 *   value and a thenable are all handled; non-Error values are wrapped in a
 *   `SchedkitError` (`E_HANDLER`) with the original as `cause`.
 * - Whichever comes first decides: the handler settling, or the abort. When
 *   the abort wins the result says `abandoned: true`, `execute` resolves at
 *   once, and `settled` resolves when the handler finally settles.
 * - `execute` never rejects and never leaves an unhandled rejection behind.
 *
 * A `timeoutMs` above 2^31-1 ms (about 24.8 days), `Infinity` or `NaN` arms
 * no timer: Node would fire such a timer after 1 ms. Validation of job
 * timeouts belongs to registration.
 *
 * Metrics: `runStarted` on every call (also when the signal was already
 * aborted, so started = completed + failed + cancelled), `runCompleted` on
 * success, `runCancelled` on `cancelled`, `runFailed` on every other
 * outcome, `runTimedOut` on timeout,
 * `runAbandoned` when the handler was still running at the abort.
 *
 * @example
 * const executor = new DefaultJobExecutor({ clock: new SystemClock(), logger, metrics: new NoopMetrics() });
 * const result = await executor.execute({ handler, context, timeoutMs: 60_000, signal: lease.signal });
 */
export class DefaultJobExecutor implements JobExecutor {
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly metrics: MetricsCollector;

  constructor(deps: DefaultJobExecutorDeps) {
    this.clock = deps.clock;
    this.logger = deps.logger;
    this.metrics = deps.metrics;
  }

  execute(request: ExecutionRequest): Promise<ExecutionResult> {
    return new Promise<ExecutionResult>((resolve) => {
      this.run(request, resolve);
    });
  }

  start(request: ExecutionRequest): ExecutionAttempt {
    let abort!: (reason: unknown) => void;
    const result = new Promise<ExecutionResult>((resolve) => {
      abort = this.run(request, resolve);
    });
    return { result, abort };
  }

  // One closure scope per run instead of a state object plus bound methods:
  // the fire path runs thousands of these per second. Returns what aborts
  // the attempt from outside.
  private run(request: ExecutionRequest, resolve: (result: ExecutionResult) => void): (reason: unknown) => void {
    const { clock, metrics } = this;
    const { context, timeoutMs } = request;
    const external = request.signal;
    const startedAt = clock.now();
    metrics.runStarted(context.name, context.tenantId);

    // The handler's signal is made when it first reads `ctx.signal`: most
    // handlers never do, and an AbortSignal costs more to create than the
    // rest of the run's setup. Until then an abort is only remembered.
    let controller: AbortController | undefined;
    let aborted = false;
    let abortReason: unknown;
    let decided = false;
    let handlerRunning = false;
    let timer: TimerHandle | undefined;
    let resolveSettled: (() => void) | undefined;

    const abortSignal = (reason: unknown): void => {
      aborted = true;
      abortReason = reason;
      controller?.abort(reason);
    };
    const signal = (): AbortSignal => {
      if (controller === undefined) {
        controller = new AbortController();
        if (aborted) controller.abort(abortReason);
      }
      return controller.signal;
    };

    const decide = (outcome: ExecutionOutcome, error: Error | null, aborting = false): void => {
      if (decided) return;
      decided = true;
      if (timer !== undefined) {
        clock.clearTimeout(timer);
        timer = undefined;
      }
      external?.removeEventListener('abort', onExternalAbort);
      const finishedAt = clock.now();
      const deliver = (): void => {
        const abandoned = handlerRunning;
        let settled = SETTLED;
        if (abandoned) settled = new Promise<void>((r) => (resolveSettled = r));
        // Resolve first: a throwing metrics or logger implementation must not
        // keep the caller waiting or turn into an uncaught exception in a timer.
        resolve({ outcome, error, startedAt, finishedAt, abandoned, settled });
        try {
          this.report(context, outcome, error, finishedAt - startedAt, abandoned);
        } catch {
          // Reporting is best effort; the outcome has been delivered.
        }
      };
      // On an abort the outcome is fixed now, but a handler that honours its
      // signal gets one event-loop turn to stop before it counts as abandoned.
      if (aborting) setImmediate(deliver);
      else deliver();
    };

    // Decide before aborting the run's signal: the handler's abort listeners
    // run synchronously inside abort() and must not be able to change the
    // outcome (say, by triggering another abort) after its cause.
    const abortFromOutside = (reason: unknown): void => {
      if (decided) return;
      decide(outcomeOfAbort(reason), abortError(reason, context.name, context.tenantId), handlerRunning);
      abortSignal(reason);
    };
    const onExternalAbort = (): void => abortFromOutside(external?.reason);

    const onHandlerSettled = (error: Error | null): void => {
      handlerRunning = false;
      if (!decided) {
        decide(error === null ? 'success' : 'failed', error);
        return;
      }
      // The abort won earlier: release whoever waits on `settled`.
      const release = resolveSettled;
      resolveSettled = undefined;
      if (release === undefined) return;
      release();
      try {
        this.reportLateSettle(context.logger, error, clock.now() - startedAt);
      } catch {
        // best effort
      }
    };

    if (external?.aborted) {
      // Never start a handler whose run is already given up.
      onExternalAbort();
      return abortFromOutside;
    }
    if (external !== undefined) {
      // One shutdown signal is commonly shared by every run in flight; each
      // run removes its listener when it ends, so Node's "possible leak"
      // warning at 11 listeners would be noise here.
      if (!unlimited.has(external)) {
        setMaxListeners(0, external);
        unlimited.add(external);
      }
      external.addEventListener('abort', onExternalAbort, ONCE);
    }
    // A timeout beyond the timer ceiling (or Infinity) arms no timer at all
    // rather than firing at once.
    if (timeoutMs <= MAX_TIMER_MS) {
      timer = clock.setTimeout(() => {
        timer = undefined;
        if (decided) return;
        const error = new TimeoutError(messages.timeout(jobLabel(context.name, context.tenantId), timeoutMs), {
          timeoutMs,
        });
        decide('timeout', error, true);
        abortSignal(error);
      }, timeoutMs);
    }

    handlerRunning = true;
    let returned: unknown;
    try {
      // Fields listed rather than spread: a spread object takes V8's slow path.
      returned = request.handler({
        name: context.name,
        tenantId: context.tenantId,
        runId: context.runId,
        id: context.id,
        scheduledAt: context.scheduledAt,
        attempt: context.attempt,
        params: context.params,
        fencingToken: context.fencingToken,
        // Read on use: a caller may build the run's logger only when asked.
        get logger() {
          return context.logger;
        },
        get signal() {
          return signal();
        },
      } as RunContext<never>);
    } catch (thrown) {
      onHandlerSettled(toError(thrown, context.name, context.tenantId));
      return abortFromOutside;
    }
    if (returned !== null && (typeof returned === 'object' || typeof returned === 'function')) {
      // Promise.resolve adopts native promises without a copy and runs a
      // thenable's `then` safely (a throwing `then` or getter becomes a
      // rejection). Both callbacks are attached, so a late rejection of an
      // abandoned handler is never unhandled.
      Promise.resolve(returned).then(
        () => onHandlerSettled(null),
        (thrown: unknown) => onHandlerSettled(toError(thrown, context.name, context.tenantId)),
      );
    } else {
      onHandlerSettled(null);
    }
    return abortFromOutside;
  }

  private report(
    context: ExecutionRequest['context'],
    outcome: ExecutionOutcome,
    error: Error | null,
    durationMs: number,
    abandoned: boolean,
  ): void {
    const { metrics } = this;
    const { name, tenantId } = context;
    if (outcome === 'success') {
      metrics.runCompleted(name, tenantId, durationMs);
      return;
    }
    if (outcome === 'timeout') metrics.runTimedOut(name, tenantId);
    if (outcome === 'cancelled') metrics.runCancelled(name, tenantId);
    else metrics.runFailed(name, tenantId);
    if (abandoned) metrics.runAbandoned(name, tenantId);
    const fields: LogFields = { err: error, outcome, durationMs };
    if (abandoned) fields.abandoned = true;
    // Shutdown and lock loss are not the handler's fault: warn. The loss
    // itself is logged where it is detected (the lease keeper). A cancel is
    // what someone asked for.
    const level = outcome === 'cancelled' ? 'info' : outcome === 'interrupted' || outcome === 'lock-lost' ? 'warn' : 'error';
    this.log(context.logger, level, MESSAGES[outcome], fields);
  }

  private reportLateSettle(runLogger: Logger, error: Error | null, durationMs: number): void {
    const fields: LogFields = { durationMs };
    if (error !== null) fields.err = error;
    this.log(runLogger, 'warn', 'handler settled after its run was given up; handlers should stop when ctx.signal aborts', fields);
  }

  private log(runLogger: Logger, level: 'info' | 'warn' | 'error', message: string, fields: LogFields): void {
    try {
      runLogger[level](message, fields);
    } catch (logError) {
      // A user-supplied run logger that throws must not hide the run's outcome.
      this.logger[level](message, { ...fields, loggerError: logError });
    }
  }
}

const MESSAGES: Record<ExecutionOutcome, string> = {
  success: 'run succeeded',
  failed: 'run failed',
  timeout: 'run timed out',
  'lock-lost': 'run lost its lock',
  interrupted: 'run interrupted by shutdown',
  cancelled: 'run cancelled',
};

/** The outcome an external abort reason stands for. */
function outcomeOfAbort(reason: unknown): ExecutionOutcome {
  // Branded check rather than instanceof: works across duplicate package copies.
  if (SchedkitError.is(reason, ErrorCode.LockLost)) return 'lock-lost';
  if (SchedkitError.is(reason, ErrorCode.Shutdown)) return 'interrupted';
  if (SchedkitError.is(reason, ErrorCode.Cancelled)) return 'cancelled';
  return 'failed';
}

function isError(value: unknown): value is Error {
  // isNativeError also accepts errors from another realm (vm contexts).
  return value instanceof Error || types.isNativeError(value);
}

/** A handler's thrown or rejected value as an `Error` (the original kept as `cause`). */
function toError(value: unknown, name: string, tenantId: string | undefined): Error {
  try {
    if (isError(value)) return value;
    return new SchedkitError(ErrorCode.HandlerError, messages.handlerThrewNonError(jobLabel(name, tenantId), value), {
      cause: value,
    });
  } catch {
    // Even inspecting the value threw (a revoked Proxy): this runs inside a
    // promise callback, where a throw would become an unhandled rejection.
    return new SchedkitError(ErrorCode.HandlerError, messages.handlerThrewUninspectable(jobLabel(name, tenantId)), {
      cause: value,
    });
  }
}

/** An external abort reason as an `Error`; a non-Error reason is wrapped. */
function abortError(reason: unknown, name: string, tenantId: string | undefined): Error {
  if (isError(reason)) return reason;
  return new SchedkitError(ErrorCode.InvalidArgument, messages.runAbortedNonError(jobLabel(name, tenantId), reason), {
    cause: reason,
  });
}
