import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { ConfigError } from '../errors/schedkit-error.js';
import { show } from '../errors/messages.js';
import { MAX_TIMER_MS } from '../clock/timer-limit.js';
import { NAME_CHARSET_TEXT, NAME_PATTERN } from '../job/job-key.js';
import type { MisfirePolicy, OverlapPolicy } from '../job/job-definition.js';
import { DEFAULT_RETRY_POLICY, resolveRetryPolicy, type RetryOptions, type RetryPolicy } from '../executor/retry-policy.js';

/** Everything a scheduler instance can be tuned with. Build it with `resolveConfig`. */
export interface SchedulerConfig {
  /** Names this instance in history and logs. @default `<hostname>-<pid>-<4 random hex>` */
  readonly instanceId: string;
  /** Runs executing at once on this instance; more wait, they are not dropped. @default 10 */
  readonly maxConcurrent: number;
  /** Timeout of a run when the job sets none. @default 300000 (5 min) */
  readonly defaultTimeoutMs: number;
  /** Retry policy of a job that sets none. @default exponential, 3 retries, 1 s, 30 s, x2, full jitter */
  readonly defaultRetry: RetryPolicy;
  /** @default 'skip' */
  readonly defaultOverlap: OverlapPolicy;
  /** @default 'run-once' */
  readonly defaultMisfire: MisfirePolicy;
  /** Most missed slots `run-all` catches up (the newest ones). @default 100 */
  readonly maxCatchUp: number;
  /**
   * A slot that could not be dispatched within this long after its time is
   * "missed" and goes through the misfire policy; a slot dispatched sooner is
   * just late. @default 5000
   */
  readonly misfireGraceMs: number;
  /** TTL of a run's lock; a dead instance's run is recovered after at most this plus one refresh. @default 30000 */
  readonly lockTtlMs: number;
  /** How often a running run refreshes its lock (the heartbeat). Must be below lockTtlMs / 2. @default lockTtlMs / 3 */
  readonly lockRefreshMs: number;
  /**
   * Spreading runs over instances: for each slot the live instances are
   * ranked by hashing; the first claims at the slot time, the second this
   * long after (in case the first is dead or busy), the others never. 0
   * turns spreading off: every instance claims every slot at once. @default 100
   */
  readonly takeoverDelayMs: number;
  /**
   * Also guard every run by a lock of its own on the `DistributedLock`
   * (`job:<key>` for an exclusive run, else one per run), taken after the
   * claim and held until its outcome is recorded. A run is always guarded by
   * its claim's lease in the backend; this adds the lock's guarantee on top,
   * for teams whose lock lives on other servers than the backend (a Redlock
   * quorum of independent masters: `lockMasters`), at two lock calls per
   * run. @default false
   */
  readonly lockRuns: boolean;
  /** Local clocks further than this from the backend's clock are logged as a warning. @default 5000 */
  readonly maxClockSkewMs: number;
  /** How long `stop` lets in-flight runs finish before aborting them with `ShutdownError`. @default 10000 */
  readonly shutdownTimeoutMs: number;
  /** History entries kept per job. @default 100 */
  readonly historyLimit: number;
  /** Finished one-off runs are deleted after this long (trigger ids are idempotent until then). @default 604800000 (7 d) */
  readonly retentionMs: number;
  /** Job state not seen registered by any instance for this long is deleted. @default 1209600000 (14 d) */
  readonly orphanTimeoutMs: number;
  /** How often this instance runs the retention/orphan sweep. @default 3600000 (1 h) */
  readonly sweepIntervalMs: number;
  /** How often pending runs and stalled runs are looked for, besides notifications. @default 1000 */
  readonly pollIntervalMs: number;
  /** Largest params, as JSON text, accepted by register/trigger. @default 65536 */
  readonly maxParamsBytes: number;
  /** Deadline of the whole lifecycle start phase. @default 15000 */
  readonly startTimeoutMs: number;
  /** Deadline of the whole lifecycle stop phase; must exceed shutdownTimeoutMs. @default 20000 */
  readonly stopTimeoutMs: number;
  /** Redis URL used by `redisBackendModule` when it is given none. @default undefined */
  readonly redisUrl: string | undefined;
  /** PostgreSQL connection string used by `postgresBackendModule` when it is given none. @default undefined */
  readonly postgresUrl: string | undefined;
}

/** What callers pass: every field optional; `defaultRetry` may be partial. */
export type SchedulerConfigInput = Partial<Omit<SchedulerConfig, 'defaultRetry'>> & { defaultRetry?: RetryOptions };

/** The defaults, with a fresh `instanceId`. */
export function defaultConfig(): SchedulerConfig {
  const lockTtlMs = 30_000;
  return Object.freeze({
    instanceId: `${hostname()}-${process.pid}-${randomBytes(2).toString('hex')}`,
    maxConcurrent: 10,
    defaultTimeoutMs: 5 * 60_000,
    defaultRetry: DEFAULT_RETRY_POLICY,
    defaultOverlap: 'skip',
    defaultMisfire: 'run-once',
    maxCatchUp: 100,
    misfireGraceMs: 5_000,
    lockTtlMs,
    lockRefreshMs: Math.floor(lockTtlMs / 3),
    takeoverDelayMs: 100,
    lockRuns: false,
    maxClockSkewMs: 5_000,
    shutdownTimeoutMs: 10_000,
    historyLimit: 100,
    retentionMs: 7 * 86_400_000,
    orphanTimeoutMs: 14 * 86_400_000,
    sweepIntervalMs: 3_600_000,
    pollIntervalMs: 1_000,
    maxParamsBytes: 65_536,
    startTimeoutMs: 15_000,
    stopTimeoutMs: 20_000,
    redisUrl: undefined,
    postgresUrl: undefined,
  });
}

const OVERLAPS: readonly OverlapPolicy[] = ['skip', 'buffer-one', 'allow'];
const MISFIRES: readonly MisfirePolicy[] = ['skip', 'run-once', 'run-all'];

type NumberRule = { min: number; max?: number; integer?: boolean };
const NUMBER_RULES: Record<string, NumberRule> = {
  maxConcurrent: { min: 1, max: 100_000, integer: true },
  defaultTimeoutMs: { min: 1, max: MAX_TIMER_MS },
  maxCatchUp: { min: 0, max: 100_000, integer: true },
  misfireGraceMs: { min: 0, max: MAX_TIMER_MS },
  lockTtlMs: { min: 10, max: MAX_TIMER_MS, integer: true },
  lockRefreshMs: { min: 1, max: MAX_TIMER_MS, integer: true },
  takeoverDelayMs: { min: 0, max: 60_000 },
  maxClockSkewMs: { min: 0, max: MAX_TIMER_MS },
  shutdownTimeoutMs: { min: 0, max: MAX_TIMER_MS },
  historyLimit: { min: 1, max: 100_000, integer: true },
  retentionMs: { min: 0 },
  orphanTimeoutMs: { min: 0 },
  sweepIntervalMs: { min: 1_000, max: MAX_TIMER_MS },
  pollIntervalMs: { min: 10, max: 30_000 },
  maxParamsBytes: { min: 2, max: 16 * 1024 * 1024, integer: true },
  startTimeoutMs: { min: 1, max: MAX_TIMER_MS },
  stopTimeoutMs: { min: 1, max: MAX_TIMER_MS },
};

/**
 * Fills defaults, checks every field and the rules between fields, and
 * returns a frozen config. Throws one `ConfigError` (`E_CONFIG`) that lists
 * every problem found, each naming its field.
 *
 * @example
 * const config = resolveConfig({ maxConcurrent: 20, lockTtlMs: 10_000 });
 */
export function resolveConfig(input: SchedulerConfigInput = {}, where = 'SchedulerConfig'): SchedulerConfig {
  const problems: string[] = [];
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new ConfigError([`expected an object, got ${show(input)}`], where);
  }
  const defaults = defaultConfig();
  const known = new Set(Object.keys(defaults));
  for (const key of Object.keys(input)) {
    if (!known.has(key)) problems.push(`unknown option ${JSON.stringify(key)}`);
  }
  const given = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) as SchedulerConfigInput;
  // Derive the refresh period only from a usable TTL: a bad lockTtlMs is
  // reported once, not again as a NaN lockRefreshMs the caller never set.
  const lockTtlMs = checkNumber(given.lockTtlMs, NUMBER_RULES.lockTtlMs!) === null ? given.lockTtlMs! : defaults.lockTtlMs;
  const merged = {
    ...defaults,
    ...given,
    // `=== undefined`, not `??`: a null is a bad value to report, like in every other field.
    lockRefreshMs: given.lockRefreshMs === undefined ? Math.max(1, Math.floor(lockTtlMs / 3)) : given.lockRefreshMs,
  } as Record<string, unknown>;

  const badFields = new Set<string>();
  for (const [field, rule] of Object.entries(NUMBER_RULES)) {
    const value = merged[field];
    const why = checkNumber(value, rule);
    if (why !== null) {
      problems.push(`${field} ${why}, got ${show(value)}`);
      badFields.add(field);
    }
  }
  if (typeof merged.instanceId !== 'string' || !NAME_PATTERN.test(merged.instanceId)) {
    problems.push(`instanceId must be 1-200 characters from ${NAME_CHARSET_TEXT}, got ${show(merged.instanceId)}`);
  }
  if (!OVERLAPS.includes(merged.defaultOverlap as OverlapPolicy)) {
    problems.push(`defaultOverlap must be one of ${OVERLAPS.join(', ')}, got ${show(merged.defaultOverlap)}`);
  }
  if (!MISFIRES.includes(merged.defaultMisfire as MisfirePolicy)) {
    problems.push(`defaultMisfire must be one of ${MISFIRES.join(', ')}, got ${show(merged.defaultMisfire)}`);
  }
  if (typeof merged.lockRuns !== 'boolean') problems.push(`lockRuns must be true or false, got ${show(merged.lockRuns)}`);
  if (merged.redisUrl !== undefined && (typeof merged.redisUrl !== 'string' || !/^rediss?:\/\//.test(merged.redisUrl))) {
    problems.push(`redisUrl must start with redis:// or rediss://, got ${show(merged.redisUrl)}`);
  }
  if (merged.postgresUrl !== undefined && (typeof merged.postgresUrl !== 'string' || !/^postgres(ql)?:\/\//.test(merged.postgresUrl))) {
    problems.push(`postgresUrl must start with postgres:// or postgresql://, got ${show(merged.postgresUrl)}`);
  }
  const retry = resolveRetryPolicy(input.defaultRetry, DEFAULT_RETRY_POLICY);
  problems.push(...retry.problems.map((p) => `default${p[0]!.toUpperCase()}${p.slice(1)}`));
  merged.defaultRetry = retry.policy;

  // Rules between fields, checked only when both fields passed their own
  // rule: a lockTtlMs of -5 is one problem, not also "lockRefreshMs must be
  // less than lockTtlMs / 2 (-2.5)".
  const valid = (...fields: string[]): boolean => fields.every((f) => !badFields.has(f));
  const ttl = merged.lockTtlMs as number;
  const refresh = merged.lockRefreshMs as number;
  if (valid('lockTtlMs', 'lockRefreshMs') && refresh >= ttl / 2) {
    problems.push(`lockRefreshMs must be less than lockTtlMs / 2 (${ttl / 2}), got ${refresh}`);
  }
  const shutdown = merged.shutdownTimeoutMs as number;
  const stop = merged.stopTimeoutMs as number;
  if (valid('shutdownTimeoutMs', 'stopTimeoutMs') && stop <= shutdown) {
    problems.push(`stopTimeoutMs must be greater than shutdownTimeoutMs (${shutdown}), got ${stop}`);
  }

  if (problems.length > 0) throw new ConfigError(problems, where);
  return Object.freeze(merged) as unknown as SchedulerConfig;
}

function isNum(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function checkNumber(value: unknown, rule: NumberRule): string | null {
  const range = rule.max === undefined ? `>= ${rule.min}` : `from ${rule.min} to ${rule.max}`;
  const what = rule.integer ? 'an integer' : 'a finite number';
  if (!isNum(value)) return `must be ${what} ${range}`;
  if (rule.integer && !Number.isInteger(value)) return `must be ${what} ${range}`;
  if (value < rule.min || (rule.max !== undefined && value > rule.max)) return `must be ${what} ${range}`;
  return null;
}
