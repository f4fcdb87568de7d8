import { setMaxListeners } from 'node:events';
import type { ActiveRunRef, CancelledRunRef, ClaimedRun, RunFinish } from '../backend/backend.js';
import type { Clock } from '../clock/clock.js';
import { CancelledError, ShutdownError } from '../errors/schedkit-error.js';
import { storedErrorText } from '../errors/error-text.js';
import { messages, runLabel } from '../errors/messages.js';
import type { ExecutionAttempt, ExecutionRequest, ExecutionResult, JobExecutor } from '../executor/job-executor.js';
import { parseStoredParams } from '../job/json-params.js';
import { parseJobKey } from '../job/job-key.js';
import type { NormalizedJob } from '../job/normalize-job.js';
import type { LockLease } from '../lock/distributed-lock.js';
import type { Logger } from '../observability/logger.js';
import { LeaseKeeper } from '../lock/lease-keeper.js';
import { jitterOffset } from '../schedule/jitter.js';
import { runLockName } from './lock-name.js';
import { acquireRunLock } from './run-lock.js';
import { OutcomeRecorder } from './outcome-recorder.js';
import { announceOutcome, nextAttempt, type NextAttempt } from './run-outcome.js';
import { driftMs, RunLeases, type LeasedRun } from './run-leases.js';
import type { RunEvent, SchedulerEventEmitter } from './events.js';
import type { SchedulerDeps } from './scheduler.js';

export interface RunRunnerDeps extends SchedulerDeps {
  events: SchedulerEventEmitter;
  /** Told about every backend/lock failure, so the scheduler can track an outage. */
  onBackendError: (error: unknown) => void;
}

/** A run between its claim and the record of its outcome (and the release of its lock, when it takes one). */
interface InFlight {
  /** The job's key and the run's id, for `cancelInFlight`. */
  readonly key: string;
  readonly id: string;
  /** Resolves when the outcome is recorded (or recording failed). */
  readonly recorded: Promise<void>;
  /** The run's lock, when it takes one (see `runLockName`), and what keeps it alive. */
  keeper: LeaseKeeper | undefined;
  lease: LockLease | undefined;
  /**
   * Why the run was given up (lease lost, shutdown by `abortAll`, cancel by
   * `cancelInFlight`), once it was: see `abortRun`.
   */
  aborted: { reason: unknown } | undefined;
  /** Its handler's attempt, once started: what `abortRun` aborts. */
  attempt: ExecutionAttempt | undefined;
}

/**
 * Takes a claimed run through its life: lease, handler, outcome, retry
 * decision, history, events. One instance per scheduler; it also knows
 * every run in flight, for a graceful stop.
 */
export class RunRunner {
  private readonly inFlight = new Set<InFlight>();
  private shutdown = shutdownController();
  /** Outcomes go to the backend through it, batched, and are kept when it does not take them. */
  private readonly outcomes: OutcomeRecorder;
  /** The leases of the runs in flight, refreshed together. */
  private readonly leases: RunLeases;

  constructor(private readonly deps: RunRunnerDeps) {
    this.outcomes = new OutcomeRecorder(deps);
    this.leases = new RunLeases(deps.backend, deps.clock);
  }

  /** Outcomes waiting for the backend to come back. */
  get keptOutcomes(): number {
    return this.outcomes.kept;
  }

  /** Records the outcomes kept during an outage. Rejects (keeping them) when the backend is still out of reach. */
  recordKept(): Promise<void> {
    return this.outcomes.recordKept();
  }

  /** Runs whose outcome is not recorded yet, or whose handler has not settled. */
  get size(): number {
    return this.inFlight.size;
  }

  /** Makes the runner usable again after a stop. */
  reset(): void {
    if (this.shutdown.signal.aborted) this.shutdown = shutdownController();
  }

  /**
   * Runs `claimed` to the end. Resolves once the handler has settled (or the
   * run was given back without starting): what the caller's concurrency
   * permit guards. For a handler that ignores its abort signal that may be
   * never, which is what keeps its permit taken. The outcome is recorded
   * after that, batched with other runs' (`drain` waits for it), so the next
   * claims need not wait for this run's bookkeeping. Never rejects.
   */
  run(job: NormalizedJob, claimed: ClaimedRun): Promise<void> {
    let markRecorded!: () => void;
    let markSettled!: () => void;
    const settled = new Promise<void>((r) => (markSettled = r));
    const entry: InFlight = {
      key: job.key,
      id: claimed.id,
      recorded: new Promise<void>((r) => (markRecorded = r)),
      keeper: undefined,
      lease: undefined,
      aborted: undefined,
      attempt: undefined,
    };
    if (this.shutdown.signal.aborted) abortRun(entry, this.shutdown.signal.reason);
    this.inFlight.add(entry);
    this.runTracked(job, claimed, entry, markSettled, markRecorded)
      .catch((error: unknown) => {
        // Only a bug gets here; it must not take the process down.
        this.deps.logger.error('run failed unexpectedly', { job: job.name, tenantId: job.tenantId, err: error });
      })
      .finally(() => {
        markSettled();
        markRecorded();
        this.inFlight.delete(entry);
      });
    return settled;
  }

  /**
   * Waits until every run in flight has its outcome recorded, at most
   * `timeoutMs`. Returns true when all were recorded in time. `before`: the
   * runs to wait for are those in flight once it resolves (claims still
   * being answered may add some), within the same `timeoutMs`.
   */
  async drain(timeoutMs: number, before: Promise<void> = Promise.resolve()): Promise<boolean> {
    const all = before.then(() => Promise.all([...this.inFlight].map((e) => e.recorded))).then(() => true);
    if (timeoutMs <= 0) return this.inFlight.size === 0;
    let timer: ReturnType<Clock['setTimeout']> | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = this.deps.clock.setTimeout(() => resolve(false), timeoutMs);
    });
    const done = await Promise.race([all, timeout]);
    if (timer !== undefined) this.deps.clock.clearTimeout(timer);
    return done;
  }

  /** Aborts every run still executing with `ShutdownError`. */
  abortAll(): void {
    const reason = new ShutdownError();
    this.shutdown.abort(reason);
    for (const entry of this.inFlight) abortRun(entry, reason);
  }

  /**
   * Aborts the run `ref` with `CancelledError` if it is in flight here
   * (`cancel(id, { abort: true })`, told by the backend). A scan rather than
   * an index by run: cancels are rare, runs started are not.
   */
  cancelInFlight(ref: CancelledRunRef): void {
    for (const entry of this.inFlight) {
      if (entry.key === ref.key && entry.id === ref.id) abortCancelled(entry);
    }
  }

  /**
   * Stops refreshing leases and releases every group lock still held
   * (handlers that never settled): their runs' leases run out in the store,
   * and another instance reaps them as stalled.
   */
  async releaseAll(): Promise<void> {
    this.outcomes.stopResending();
    this.leases.stop();
    await Promise.all(
      [...this.inFlight].map(async (entry) => {
        await entry.keeper?.stop();
        await entry.lease?.release().catch(() => undefined);
      }),
    );
  }

  private async runTracked(job: NormalizedJob, claimed: ClaimedRun, entry: InFlight, markSettled: () => void, markRecorded: () => void): Promise<void> {
    const { clock, metrics, config } = this.deps;
    const ref: ActiveRunRef = { key: job.key, id: claimed.id, fencingToken: claimed.fencingToken };

    // The claim leased the run to this instance: that lease is its lock (see
    // RunLeases). A run of a lock group also takes the group's lock, and with
    // `lockRuns` every run takes its own on the DistributedLock.
    let runLease: LockLease | undefined;
    const resource = job.lockKey !== null || config.lockRuns ? runLockName(job.key, claimed.id, claimed.exclusive, job.lockKey) : undefined;
    if (resource !== undefined) {
      const lease = await this.takeRunLock(job, ref, resource);
      if (lease === undefined) return;
      runLease = lease;
      entry.lease = lease;
      const keeper = new LeaseKeeper(clock, job.lockRefreshMs, () => lease.extend(), resource).start();
      keeper.signal.addEventListener('abort', () => abortRun(entry, keeper.signal.reason), { once: true });
      entry.keeper = keeper;
    }
    const leased: LeasedRun = {
      ref,
      leaseMs: job.lockTtlMs,
      refreshMs: job.lockRefreshMs,
      // The claim's lease started at the store's time of the claim, on the clock the runs use.
      validUntil: claimed.claimedAt + job.lockTtlMs - driftMs(job.lockTtlMs),
      lost: (error) => abortRun(entry, error),
      cancel: () => abortCancelled(entry),
    };
    this.leases.add(leased);

    const startedAt = clock.now();
    const event: RunEvent = {
      name: job.name,
      tenantId: job.tenantId,
      id: claimed.id,
      runId: claimed.runId,
      kind: claimed.kind,
      scheduledAt: new Date(claimed.scheduledAt),
      attempt: claimed.attempt,
      instanceId: config.instanceId,
    };
    // A slot is due at its jittered fire time, not at the slot itself.
    const latenessMs = startedAt - claimed.scheduledAt - (claimed.kind === 'slot' ? jitterOffset(job.key, claimed.scheduledAt, job.jitterMs) : 0);
    if (claimed.attempt === 1) metrics.fireLateness(job.name, job.tenantId, latenessMs);
    // Payloads are built only for listeners: thousands of runs a second pay nothing for an event nobody hears.
    if (this.deps.events.has('run:start')) this.deps.events.emit('run:start', { ...event, latenessMs, fencingToken: claimed.fencingToken });

    const paramsText = claimed.params ?? job.paramsText;
    const parent = this.deps.logger;
    let runLogger: Logger | undefined;
    entry.attempt = startAttempt(this.deps.executor, entry, {
      handler: job.handler,
      context: {
        name: job.name,
        tenantId: job.tenantId,
        runId: claimed.runId,
        id: claimed.id,
        scheduledAt: event.scheduledAt,
        attempt: claimed.attempt,
        params: paramsText === undefined ? undefined : parseStoredParams(paramsText),
        fencingToken: claimed.fencingToken,
        // Built on first use: most handlers never log, and a child logger per run costs.
        get logger() {
          return (runLogger ??= parent.child(runLogFields(job, claimed)));
        },
      },
      timeoutMs: job.timeoutMs,
    });
    const result = await entry.attempt.result;

    const endedAt = clock.now();
    const next = nextAttempt(job, claimed, result);
    if (!result.abandoned) markSettled();
    else {
      // The handler ignored its abort and goes on: its run stays active,
      // leased (and its group lock held), so nothing else runs it or, for an
      // exclusive job, its job alongside it (SPEC §3). What it came to is
      // told now; the store records it when the handler has really settled.
      announceOutcome(this.deps, job, claimed, result, event, endedAt, next);
      // Unless this instance stops first: it records now and leaves, the
      // handler's run then is the next claimer's, as it would be after a crash.
      await Promise.race([result.settled.then(markSettled), aborted(this.shutdown.signal)]);
    }
    // Recording the outcome ends the lease in the store: no release call.
    await this.record(job, claimed, ref, result, endedAt, next);
    this.leases.delete(leased);
    if (!result.abandoned) announceOutcome(this.deps, job, claimed, result, event, endedAt, next);
    markRecorded();
    if (runLease !== undefined) {
      await entry.keeper?.stop();
      entry.keeper = undefined;
      await runLease.release().catch((error: unknown) => this.deps.logger.warn('lock release failed', { resource, err: error }));
      entry.lease = undefined;
    }
  }

  /**
   * Takes the run's lock (its lock group's, or with `lockRuns` its own);
   * undefined when the run was put back instead (the lock stayed held, or
   * could not be reached).
   */
  private async takeRunLock(job: NormalizedJob, ref: ActiveRunRef, resource: string): Promise<LockLease | undefined> {
    const { clock, metrics } = this.deps;
    const waitStart = clock.now();
    let lease: LockLease | null;
    try {
      lease = await acquireRunLock(this.deps, job, ref, resource, this.shutdown.signal);
    } catch (error) {
      // Nothing runs unlocked: give the run back and let the outage logic report it.
      this.deps.onBackendError(error);
      await this.putBack(job, ref, job.lockRefreshMs, `lock unavailable: ${errorMessage(error)}`);
      return undefined;
    }
    if (lease === null) {
      metrics.lockContended();
      await this.putBack(job, ref, job.lockRefreshMs, `lock "${resource}" is held by another run`);
      return undefined;
    }
    metrics.lockAcquired(clock.now() - waitStart);
    return lease;
  }

  /** Records the attempt's outcome in the store, which ends its lease there. */
  private async record(job: NormalizedJob, claimed: ClaimedRun, ref: ActiveRunRef, result: ExecutionResult, endedAt: number, next: NextAttempt): Promise<void> {
    // Fields listed, not spread: a spread object takes V8's slow path, and
    // this runs once per run.
    const finish: RunFinish = {
      key: ref.key,
      id: ref.id,
      fencingToken: ref.fencingToken,
      instanceId: this.deps.config.instanceId,
      outcome: result.outcome,
      error: result.error === null ? null : storedErrorText(result.error.message),
      durationMs: result.finishedAt - result.startedAt,
      retryInMs: next.retryInMs,
      requeueInMs: next.requeueInMs,
    };
    const recorded = await this.outcomes.record(finish, endedAt, { job: job.name, tenantId: job.tenantId, runId: claimed.runId });
    if (recorded === false) {
      this.deps.logger.warn('run outcome not recorded: the run was reaped as stalled or the job was removed', {
        job: job.name,
        tenantId: job.tenantId,
        runId: claimed.runId,
        outcome: result.outcome,
      });
    }
  }

  /** Gives a claimed run back to the backend without running it. */
  private async putBack(job: NormalizedJob, ref: ActiveRunRef, dueInMs: number, why: string): Promise<void> {
    const now = this.deps.clock.now();
    this.deps.logger.warn('run put back without running', { job: job.name, tenantId: job.tenantId, reason: why });
    const finish: RunFinish = {
      key: ref.key,
      id: ref.id,
      fencingToken: ref.fencingToken,
      instanceId: this.deps.config.instanceId,
      outcome: 'interrupted',
      error: storedErrorText(why),
      durationMs: 0,
      requeueInMs: dueInMs,
    };
    await this.outcomes.record(finish, now, { job: job.name, tenantId: job.tenantId });
  }
}

/** Resolves when `signal` aborts. */
function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

/**
 * Gives up a run in flight with `reason`, unless something gave it up first:
 * aborts its attempt, or keeps the reason for the attempt to start aborted.
 * A record and a call per run, not an AbortController: the fire path makes
 * thousands a second, and a signal with its listeners costs more than the
 * rest of a run's setup.
 */
function abortRun(entry: InFlight, reason: unknown): void {
  if (entry.aborted !== undefined) return;
  entry.aborted = { reason };
  entry.attempt?.abort(reason);
}

/**
 * Starts the run's attempt, aborted already when the run was given up
 * before its handler could start (the executor then never starts it). An
 * executor without `start` gets a signal of its own for the run.
 */
function startAttempt(executor: JobExecutor, entry: InFlight, request: ExecutionRequest): ExecutionAttempt {
  if (entry.aborted !== undefined) return { result: executor.execute({ ...request, signal: AbortSignal.abort(entry.aborted.reason) }), abort: () => undefined };
  if (executor.start !== undefined) return executor.start(request);
  const controller = new AbortController();
  return { result: executor.execute({ ...request, signal: controller.signal }), abort: (reason) => controller.abort(reason) };
}

/** Aborts a run in flight with `CancelledError`, unless something aborted it first. */
function abortCancelled(entry: InFlight): void {
  if (entry.aborted !== undefined) return;
  const { name, tenantId } = parseJobKey(entry.key);
  abortRun(entry, new CancelledError(messages.runCancelled(runLabel(entry.id, name, tenantId))));
}

/** The fields of a handler's `ctx.logger`; `tenantId` only when the job has one. */
function runLogFields(job: NormalizedJob, claimed: ClaimedRun): Record<string, unknown> {
  return job.tenantId === undefined
    ? { job: job.name, runId: claimed.runId, attempt: claimed.attempt }
    : { job: job.name, tenantId: job.tenantId, runId: claimed.runId, attempt: claimed.attempt };
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The controller whose signal every waiting lock acquire of this instance
 * listens to: up to `maxConcurrent` listeners at once, each removed when its
 * acquire ends, so Node's "possible leak" warning at 11 would be noise.
 */
function shutdownController(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}
