import { MAX_TIMER_MS } from '../clock/timer-limit.js';
import type { SchedulerConfig } from '../config/config.js';
import { ErrorCode, SchedkitError } from '../errors/schedkit-error.js';
import { jobLabel, messages, show } from '../errors/messages.js';
import { resolveRetryPolicy, type RetryPolicy } from '../executor/retry-policy.js';
import { parseSchedule, scheduleHash } from '../schedule/parse-schedule.js';
import type { RateLimit } from '../backend/backend-records.js';
import type { Exclusions } from '../schedule/exclusions.js';
import type { Schedule } from '../schedule/schedule.js';
import type { JobDefinition, JobHandler, MisfirePolicy, OverlapPolicy } from './job-definition.js';
import { validateParams } from './json-params.js';
import { featuresHash, normalizeJobFeatures } from './job-features.js';
import { isValidName, jobKey } from './job-key.js';

/** A validated job with every default filled in. Immutable; runtime state lives in the scheduler. */
export interface NormalizedJob {
  readonly key: string;
  readonly name: string;
  readonly tenantId: string | undefined;
  readonly schedule: Schedule | null;
  readonly limit: number | null;
  readonly definitionHash: string;
  readonly handler: JobHandler<never>;
  readonly timeoutMs: number;
  readonly retry: RetryPolicy;
  readonly overlap: OverlapPolicy;
  readonly misfire: MisfirePolicy;
  /** The job's params as JSON text (parsed afresh for each run, so a handler cannot change them for the next). */
  readonly paramsText: string | undefined;
  readonly lockTtlMs: number;
  readonly lockRefreshMs: number;
  /** The lock group shared with other jobs, or null: the job locks itself. */
  readonly lockKey: string | null;
  /** Whether the upsert that creates the job also enqueues one run (`on-start`). */
  readonly runOnStart: boolean;
  readonly rateLimit: RateLimit | null;
  /** Each slot is claimed `jitterOffset(key, slot, jitterMs)` after it; 0: at the slot. */
  readonly jitterMs: number;
  /** Slots not to run (claimed as skipped, reason `excluded`), or null. */
  readonly exclusions: Exclusions | null;
}

const KNOWN_KEYS = new Set([
  'name', 'tenantId', 'schedule', 'handler', 'timeoutMs', 'retry', 'overlap', 'misfire', 'params', 'lockTtlMs',
  'lockKey', 'runOnStart', 'rateLimit', 'jitterMs', 'exclude',
]);
const OVERLAPS: readonly OverlapPolicy[] = ['skip', 'buffer-one', 'allow'];
const MISFIRES: readonly MisfirePolicy[] = ['skip', 'run-once', 'run-all'];

/**
 * Validates a job definition and fills defaults from `config`. Throws a
 * `SchedkitError` naming the job and the field: `E_INVALID_JOB` (name,
 * tenant, handler, options), `E_INVALID_SCHEDULE` or `E_INVALID_PARAMS`.
 * Nothing is stored before this returns, so bad input changes nothing.
 * `now` (epoch ms) is when `jitterMs` is compared with a cron schedule's next
 * slots (see `schedulePeriod`).
 */
export function normalizeJob(definition: JobDefinition<never>, config: SchedulerConfig, now: number = Date.now()): NormalizedJob {
  if (typeof definition !== 'object' || definition === null || Array.isArray(definition)) {
    throw invalid('job', 'definition', `expected an object, got ${show(definition)}`);
  }
  const { name, tenantId } = definition;
  if (!isValidName(name)) throw new SchedkitError(ErrorCode.InvalidJob, messages.invalidName('job name', name), { details: { field: 'name' } });
  if (tenantId !== undefined && !isValidName(tenantId)) {
    throw new SchedkitError(ErrorCode.InvalidJob, `${jobLabel(name)}: ${messages.invalidName('tenantId', tenantId)}`, {
      details: { field: 'tenantId' },
    });
  }
  const label = jobLabel(name, tenantId);
  for (const key of Object.keys(definition)) {
    if (!KNOWN_KEYS.has(key)) throw invalid(label, key, 'unknown option (a typo?)');
  }
  if (typeof definition.handler !== 'function') throw invalid(label, 'handler', `expected a function, got ${show(definition.handler)}`);

  const timeoutMs = definition.timeoutMs ?? config.defaultTimeoutMs;
  if (!isPositive(timeoutMs) || timeoutMs > MAX_TIMER_MS) {
    throw invalid(label, 'timeoutMs', `expected a number from 1 to ${MAX_TIMER_MS}, got ${show(timeoutMs)}`);
  }
  const lockTtlMs = definition.lockTtlMs ?? config.lockTtlMs;
  if (!Number.isInteger(lockTtlMs) || lockTtlMs < 10 || lockTtlMs > MAX_TIMER_MS) {
    throw invalid(label, 'lockTtlMs', `expected an integer from 10 to ${MAX_TIMER_MS}, got ${show(lockTtlMs)}`);
  }
  const overlap = definition.overlap ?? config.defaultOverlap;
  if (!OVERLAPS.includes(overlap)) throw invalid(label, 'overlap', `expected one of ${OVERLAPS.join(', ')}, got ${show(overlap)}`);
  const misfire = definition.misfire ?? config.defaultMisfire;
  if (!MISFIRES.includes(misfire)) throw invalid(label, 'misfire', `expected one of ${MISFIRES.join(', ')}, got ${show(misfire)}`);

  const retry = resolveRetryPolicy(definition.retry, config.defaultRetry);
  if (retry.problems.length > 0) throw invalid(label, 'retry', retry.problems.join('; '));

  const parsed = parseSchedule(definition.schedule, label);
  const paramsText = validateParams(definition.params, label, config.maxParamsBytes);
  const features = normalizeJobFeatures(definition, label, parsed?.schedule ?? null, now);

  return Object.freeze({
    key: jobKey(name, tenantId),
    name,
    tenantId,
    schedule: parsed?.schedule ?? null,
    limit: parsed?.limit ?? null,
    definitionHash: parsed === null ? 'trigger-only' : featuresHash(scheduleHash(parsed.schedule.descriptor, parsed.limit), features),
    handler: definition.handler,
    timeoutMs,
    retry: retry.policy,
    overlap,
    misfire,
    paramsText,
    lockTtlMs,
    // The configured refresh period belongs to the configured TTL; a job with
    // its own TTL refreshes at a third of it.
    lockRefreshMs: lockTtlMs === config.lockTtlMs ? config.lockRefreshMs : Math.max(1, Math.floor(lockTtlMs / 3)),
    lockKey: features.lockKey,
    runOnStart: features.runOnStart,
    rateLimit: features.rateLimit,
    jitterMs: features.jitterMs,
    exclusions: features.exclusions,
  });
}

function invalid(label: string, field: string, why: string): SchedkitError {
  return new SchedkitError(ErrorCode.InvalidJob, messages.invalidJob(label, field, why), { details: { field } });
}

function isPositive(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0;
}
