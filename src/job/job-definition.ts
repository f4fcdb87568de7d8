import type { RateLimit } from '../backend/backend-records.js';
import type { Logger } from '../observability/logger.js';
import type { RetryOptions } from '../executor/retry-policy.js';
import type { ScheduleInput } from '../schedule/schedule.js';

/** A JSON value: what `params` may hold. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
/** A JSON object: what `params` usually holds. */
export type JsonObject = { [key: string]: JsonValue };

/** What a handler gets for each run. */
export interface RunContext<P = JsonValue | undefined> {
  readonly name: string;
  readonly tenantId: string | undefined;
  /** uuid v7 of this attempt. */
  readonly runId: string;
  /** The stable id of the run across its attempts (a trigger's `id`, or the slot's run id). */
  readonly id: string;
  /** The slot this run is for (a trigger's `at`, or the time it was triggered). */
  readonly scheduledAt: Date;
  /** 1 for the first attempt, 2 for the first retry, ... */
  readonly attempt: number;
  /** The trigger's params for a one-off run, else the job's params. */
  readonly params: P;
  /** Aborts on timeout (`TimeoutError`), lock loss (`LockLostError`) or shutdown (`ShutdownError`). */
  readonly signal: AbortSignal;
  /** Strictly increasing per job, cluster-wide: hand it to storage to reject stale writers. */
  readonly fencingToken: number;
  /** A child logger carrying job, tenant, runId and attempt. */
  readonly logger: Logger;
}

/** A job's work: called once per run; a rejection or throw fails the run (and may retry it). */
export type JobHandler<P = JsonValue | undefined> = (ctx: RunContext<P>) => unknown;

/** `skip`: a slot due while a run of the job is active anywhere is skipped and recorded;
 * `buffer-one`: one such slot waits and starts when the active run ends;
 * `allow`: slots run concurrently. */
export type OverlapPolicy = 'skip' | 'buffer-one' | 'allow';

/** What to do with slots missed while nothing could run them. */
export type MisfirePolicy = 'skip' | 'run-once' | 'run-all';

/**
 * A job: what runs (`handler`), when (`schedule`, or only when triggered),
 * and how (timeout, retries, overlap, misfire). `P` is the type of
 * `ctx.params` (an interface works). A scheduled job whose `P` does not admit
 * `undefined` must give `params`; a trigger-only job gets its params from
 * each `trigger`.
 *
 * @example
 * interface Report { format: 'pdf' | 'csv' }
 * const job: JobDefinition<Report> = { name: 'report', schedule: '0 6 * * *', params: { format: 'pdf' }, handler: async (ctx) => render(ctx.params.format) };
 */
export type JobDefinition<P = JsonValue | undefined> = JobDefinitionFields<P> &
  (
    | {
        /** Leave out for a trigger-only job. */
        schedule?: undefined;
        /** JSON passed as `ctx.params` to a run triggered without params. */
        params?: P;
      }
    | ({
        /** When the job runs: a cron expression, `{ every }`, `{ cron }`, `{ at }` or a `Schedule`. */
        schedule: ScheduleInput;
      } & JobParamsField<P>)
  );

/** `params` of a scheduled job: optional only when the handler accepts `undefined`. */
export type JobParamsField<P> = undefined extends P
  ? {
      /** JSON passed to every scheduled run as `ctx.params`. */
      params?: P;
    }
  : {
      /** JSON passed to every scheduled run as `ctx.params`. */
      params: P;
    };

/** The fields of a job other than `params`. */
export interface JobDefinitionFields<P = JsonValue | undefined> {
  /** Required; 1-200 characters from `[A-Za-z0-9_.:-]`. */
  name: string;
  /** Optional; same charset. Identity is (tenantId, name). */
  tenantId?: string;
  /** The work of one run. */
  handler: JobHandler<P>;
  /** @default config.defaultTimeoutMs */
  timeoutMs?: number;
  /** `false` disables retries. @default config.defaultRetry */
  retry?: RetryOptions | false;
  /** @default config.defaultOverlap ('skip') */
  overlap?: OverlapPolicy;
  /** @default config.defaultMisfire ('run-once') */
  misfire?: MisfirePolicy;
  /** @default config.lockTtlMs */
  lockTtlMs?: number;
  /**
   * Jobs that share a lock key never run at the same time, cluster-wide
   * (each keeps its own slots, history and fencing order). Same charset as
   * names. @default the job's own key
   */
  lockKey?: string;
  /** Run once more when the job is first stored: once for the fleet, not per instance (id `on-start` in history). */
  runOnStart?: boolean;
  /**
   * At most `max` runs start per `perMs`, across every job and instance that
   * uses the same `key`. Runs over the limit wait (the wait shows in
   * lateness); none is dropped.
   */
  rateLimit?: RateLimit;
  /**
   * Delays each slot by an offset in [0, jitterMs) derived from the job and
   * the slot: the same on every instance, different from job to job, so a
   * thousand jobs at one cron time do not start at one instant. Must be
   * shorter than the schedule's period.
   */
  jitterMs?: number;
  /** Slots that match one of these are not run; each is recorded as `skipped` with reason `excluded`. */
  exclude?: readonly Exclusion[];
}

/**
 * A set of slots not to run: slots a cron expression matches (in `tz`, or the
 * job's time zone, or UTC), or slots from `from` (inclusive) to `to`
 * (exclusive).
 */
export type Exclusion = { cron: string; tz?: string } | { from: Date | string; to: Date | string };

/** `register`'s options. */
export interface RegisterOptions {
  /** Replace a job already registered with the same identity on this scheduler. */
  replace?: boolean;
}

/** `trigger`'s options: which tenant's job, its params, when, and an idempotency key. */
export interface TriggerOptions<P = JsonValue | undefined> {
  tenantId?: string;
  /** Params for this run only (the job's params when left out). */
  params?: P;
  /** Run at this instant instead of now. */
  at?: Date | string;
  /** Idempotency key: a second trigger with the same id returns the existing run. */
  id?: string;
}
