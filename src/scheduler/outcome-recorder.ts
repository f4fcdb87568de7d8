import type { Backend, RunFinish } from '../backend/backend.js';
import type { Clock } from '../clock/clock.js';
import type { SchedulerConfig } from '../config/config.js';
import { ErrorCode, SchedkitError } from '../errors/schedkit-error.js';
import type { Logger } from '../observability/logger.js';
import { CallBatcher } from './call-batcher.js';
import { UnrecordedOutcomes } from './unrecorded-outcomes.js';

/** What the recorder sends through and reports to. */
export interface OutcomeRecorderDeps {
  backend: Backend;
  clock: Clock;
  config: SchedulerConfig;
  logger: Logger;
  /** Told about every failed call, so the scheduler can track an outage. */
  onBackendError: (error: unknown) => void;
}

/**
 * Sends run outcomes to the backend: those of runs that end in the same turn
 * in one `finishRuns` call, and keeps those the backend did not take until
 * it does. Separate from `RunRunner` because it is the runner's one
 * conversation with the backend after the claim, with its own failure rules.
 */
export class OutcomeRecorder {
  private readonly finishes: CallBatcher<RunFinish, boolean>;
  private readonly unrecorded: UnrecordedOutcomes;
  /** Sends kept outcomes again after a failure that was not an outage (nothing else would). */
  private resend: ReturnType<Clock['setTimeout']> | undefined;

  constructor(private readonly deps: OutcomeRecorderDeps) {
    this.finishes = new CallBatcher('finishRuns', (finishes) => deps.backend.finishRuns(finishes));
    this.unrecorded = new UnrecordedOutcomes((finish) => this.finishes.call(finish), deps.clock, deps.logger);
  }

  /** Outcomes waiting for the backend to come back. */
  get kept(): number {
    return this.unrecorded.size;
  }

  /** Records the outcomes kept during an outage. Rejects (keeping them) when the backend is still out of reach. */
  recordKept(): Promise<void> {
    return this.unrecorded.flush();
  }

  /** Stops resending: the stop records what is kept itself, and a resend after it would meet a closed backend. */
  stopResending(): void {
    if (this.resend !== undefined) this.deps.clock.clearTimeout(this.resend);
    this.resend = undefined;
  }

  /**
   * Records `finish` (an attempt that ended at `endedAt`). Resolves to the
   * backend's answer, or null when the call failed and the outcome is kept.
   * `fields` name the run in the logs.
   */
  async record(finish: RunFinish, endedAt: number, fields: Record<string, unknown>): Promise<boolean | null> {
    try {
      return await this.finishes.call(finish);
    } catch (error) {
      this.notRecorded(finish, endedAt, error, fields);
      return null;
    }
  }

  /**
   * An outcome the backend did not take. It is kept, never dropped: a run
   * left active would be reaped as `stalled` once its lease ran out, and a
   * success run again. In an outage the health check sends it again once the
   * backend answers (the reaper leaves the run alone for a lease after an
   * outage, so it is recorded as what happened). Any other failure (a bad
   * reply, a replica turned read-only in a failover) is not an outage, so the
   * recorder sends it again itself, once per `lockRefreshMs`, well inside the
   * run's lease; sending twice is harmless (see `UnrecordedOutcomes`).
   */
  private notRecorded(finish: RunFinish, endedAt: number, error: unknown, fields: Record<string, unknown>): void {
    this.deps.onBackendError(error);
    this.unrecorded.keep(finish, endedAt);
    if (SchedkitError.is(error, ErrorCode.BackendUnavailable)) {
      this.deps.logger.warn('run outcome kept until the backend is back', { ...fields, outcome: finish.outcome });
      return;
    }
    this.deps.logger.error('could not record run outcome: kept, sent again shortly', { ...fields, err: error });
    this.resendKept();
  }

  private resendKept(): void {
    if (this.resend !== undefined) return;
    this.resend = this.deps.clock.setTimeout(() => {
      this.resend = undefined;
      this.unrecorded.flush().catch((error: unknown) => {
        this.deps.onBackendError(error);
        if (!SchedkitError.is(error, ErrorCode.BackendUnavailable)) this.resendKept();
      });
    }, this.deps.config.lockRefreshMs);
  }
}
