import type { Logger } from '../observability/logger.js';
import type { RetryOptions } from '../executor/retry-policy.js';
import type { ScheduleInput } from '../schedule/schedule.js';

/** A JSON value: what `params` may hold. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
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

export type JobHandler<P = JsonValue | undefined> = (ctx: RunContext<P>) => unknown;

/** `skip`: a slot due while a run of the job is active anywhere is skipped and recorded;
 * `buffer-one`: one such slot waits and starts when the active run ends;
 * `allow`: slots run concurrently. */
export type OverlapPolicy = 'skip' | 'buffer-one' | 'allow';

/** What to do with slots missed while nothing could run them. */
export type MisfirePolicy = 'skip' | 'run-once' | 'run-all';

export interface JobDefinition<P = JsonValue | undefined> {
  /** Required; 1-200 characters from `[A-Za-z0-9_.:-]`. */
  name: string;
  /** Optional; same charset. Identity is (tenantId, name). */
  tenantId?: string;
  /** Leave out for a trigger-only job. */
  schedule?: ScheduleInput;
  handler: JobHandler<P>;
  /** @default config.defaultTimeoutMs */
  timeoutMs?: number;
  /** `false` disables retries. @default config.defaultRetry */
  retry?: RetryOptions | false;
  /** @default config.defaultOverlap ('skip') */
  overlap?: OverlapPolicy;
  /** @default config.defaultMisfire ('run-once') */
  misfire?: MisfirePolicy;
  /** JSON passed to every scheduled run as `ctx.params`. */
  params?: JsonValue;
  /** @default config.lockTtlMs */
  lockTtlMs?: number;
}

export interface RegisterOptions {
  /** Replace a job already registered with the same identity on this scheduler. */
  replace?: boolean;
}

export interface TriggerOptions {
  tenantId?: string;
  /** Params for this run only (the job's params when left out). */
  params?: JsonValue;
  /** Run at this instant instead of now. */
  at?: Date | string;
  /** Idempotency key: a second trigger with the same id returns the existing run. */
  id?: string;
}
