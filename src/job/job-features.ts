/**
 * The job options beyond what and when (SPEC §14): lock groups, run on start,
 * rate limits, jitter and exclusions, checked and put in normal form. Apart
 * from `normalize-job.ts` because each has its own rules and error texts;
 * `normalizeJob` calls `normalizeJobFeatures` once per registration.
 */
import { createHash } from 'node:crypto';
import type { RateLimit } from '../backend/backend-records.js';
import { MAX_TIMER_MS } from '../clock/timer-limit.js';
import { ErrorCode, SchedkitError } from '../errors/schedkit-error.js';
import { messages, show } from '../errors/messages.js';
import { compileExclusions, type Exclusions } from '../schedule/exclusions.js';
import type { Schedule } from '../schedule/schedule.js';
import type { JobDefinitionFields } from './job-definition.js';
import { isValidName, NAME_CHARSET_TEXT } from './job-key.js';

/** How many slots ahead `jitterMs` is compared with a cron schedule's gaps. */
export const JITTER_PERIOD_SLOTS = 64;

/** The feature options of a job, checked, with their defaults. */
export interface JobFeatures {
  /** The lock group, or null: the job locks itself (see `groupLockName`). */
  readonly lockKey: string | null;
  readonly runOnStart: boolean;
  readonly rateLimit: RateLimit | null;
  /** 0: no jitter. */
  readonly jitterMs: number;
  readonly exclusions: Exclusions | null;
}

const RATE_LIMIT_KEYS = ['key', 'max', 'perMs'];

/**
 * Checks `lockKey`, `runOnStart`, `rateLimit`, `jitterMs` and `exclude`.
 *
 * @param label how errors name the job (`jobLabel()`).
 * @param schedule the job's schedule (null: trigger-only).
 * @param now the time `jitterMs` is compared with a cron schedule's next slots from.
 * @throws SchedkitError `E_INVALID_JOB` naming the field, or `E_INVALID_SCHEDULE` for an exclusion's cron or zone.
 */
export function normalizeJobFeatures(definition: JobDefinitionFields<never>, label: string, schedule: Schedule | null, now: number): JobFeatures {
  const { lockKey, runOnStart, rateLimit, jitterMs, exclude } = definition;
  if (lockKey !== undefined && !isValidName(lockKey)) {
    throw invalid(label, 'lockKey', `expected 1-200 characters from ${NAME_CHARSET_TEXT}, got ${show(lockKey)}`);
  }
  if (runOnStart !== undefined && typeof runOnStart !== 'boolean') throw invalid(label, 'runOnStart', `expected true or false, got ${show(runOnStart)}`);
  const exclusions = compileExclusions(exclude, label, schedule?.descriptor.kind === 'cron' ? schedule.descriptor.tz : undefined);
  if (exclusions !== null && schedule === null) throw invalid(label, 'exclude', 'a job without a schedule has no slots to exclude');
  return {
    lockKey: lockKey ?? null,
    runOnStart: runOnStart ?? false,
    rateLimit: rateLimit === undefined ? null : checkRateLimit(rateLimit, label),
    jitterMs: jitterMs === undefined ? 0 : checkJitter(jitterMs, label, schedule, now),
    exclusions,
  };
}

/**
 * The definition hash of a job with these features: `scheduleHash` alone when
 * neither jitter nor exclusions are set (so every job defined without them
 * keeps its hash), else a hash of it with them. Jitter and exclusions decide
 * when and which slots run, so instances must agree on them as they agree on
 * the schedule; the lock group, run on start and the rate limit do not
 * change slots and stay out (the rate limit is stored with the job instead).
 */
export function featuresHash(scheduleHash: string, features: JobFeatures): string {
  if (features.jitterMs === 0 && features.exclusions === null) return scheduleHash;
  const text = JSON.stringify({ schedule: scheduleHash, jitterMs: features.jitterMs, exclude: features.exclusions?.describe() ?? [] });
  return createHash('sha1').update(text).digest('hex').slice(0, 16);
}

function checkRateLimit(input: unknown, label: string): RateLimit {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw invalid(label, 'rateLimit', `expected { key, max, perMs }, got ${show(input)}`);
  }
  const spec = input as Record<string, unknown>;
  const unknown = Object.keys(spec).filter((key) => !RATE_LIMIT_KEYS.includes(key));
  if (unknown.length > 0) throw invalid(label, 'rateLimit', `unknown key(s) ${unknown.map((k) => `"${k}"`).join(', ')}; expected key, max and perMs`);
  if (!isValidName(spec.key)) throw invalid(label, 'rateLimit.key', `expected 1-200 characters from ${NAME_CHARSET_TEXT}, got ${show(spec.key)}`);
  if (!isPositiveInteger(spec.max)) throw invalid(label, 'rateLimit.max', `expected a positive integer, got ${show(spec.max)}`);
  if (!isPositiveInteger(spec.perMs) || spec.perMs > MAX_TIMER_MS) {
    throw invalid(label, 'rateLimit.perMs', `expected an integer from 1 to ${MAX_TIMER_MS}, got ${show(spec.perMs)}`);
  }
  return Object.freeze({ key: spec.key, max: spec.max, perMs: spec.perMs });
}

function checkJitter(jitterMs: unknown, label: string, schedule: Schedule | null, now: number): number {
  if (typeof jitterMs !== 'number' || !Number.isSafeInteger(jitterMs) || jitterMs < 0 || jitterMs > MAX_TIMER_MS) {
    throw invalid(label, 'jitterMs', `expected an integer from 0 to ${MAX_TIMER_MS}, got ${show(jitterMs)}`);
  }
  if (jitterMs === 0) return 0;
  if (schedule === null || schedule.descriptor.kind === 'once') {
    throw invalid(label, 'jitterMs', `needs a recurring schedule (cron or every), got ${schedule === null ? 'no schedule' : 'a once schedule'}`);
  }
  const period = schedulePeriod(schedule, now);
  if (period !== null && jitterMs >= period) {
    throw invalid(label, 'jitterMs', `must be shorter than the schedule's period (${period} ms), got ${jitterMs}`);
  }
  return jitterMs;
}

/**
 * The shortest gap between slots: `everyMs` for an interval; for any other
 * schedule, the shortest among its next `JITTER_PERIOD_SLOTS` slots from
 * `now` (or from its start, when later: `next` starts there). Null when fewer
 * than two slots remain.
 */
export function schedulePeriod(schedule: Schedule, now: number): number | null {
  if (schedule.descriptor.kind === 'interval') return schedule.descriptor.everyMs;
  let shortest: number | null = null;
  let previous = schedule.next(new Date(now))?.getTime() ?? null;
  for (let i = 0; i < JITTER_PERIOD_SLOTS && previous !== null; i++) {
    const slot = schedule.next(new Date(previous))?.getTime() ?? null;
    if (slot === null) break;
    shortest = Math.min(shortest ?? Infinity, slot - previous);
    previous = slot;
  }
  return shortest;
}

function isPositiveInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}

function invalid(label: string, field: string, why: string): SchedkitError {
  return new SchedkitError(ErrorCode.InvalidJob, messages.invalidJob(label, field, why), { details: { field } });
}
