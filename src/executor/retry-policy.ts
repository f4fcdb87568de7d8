/** How the delay grows between attempts: doubling, adding the initial delay, or constant. */
export type BackoffStrategy = 'exponential' | 'linear' | 'fixed';
/** Randomness added to each retry delay: none, all of it (`full`: 0..delay) or half of it (`equal`: delay/2..delay). */
export type Jitter = 'none' | 'full' | 'equal';

/** How failed runs are retried. All fields optional; see `resolveRetryPolicy` for defaults. */
export interface RetryOptions {
  /** Retries after the first attempt. @default 3 */
  maxRetries?: number;
  /** @default 'exponential' */
  strategy?: BackoffStrategy;
  /** @default 1000 */
  initialDelayMs?: number;
  /** Cap on any single delay. @default 30000 */
  maxDelayMs?: number;
  /** Growth factor of the exponential strategy. @default 2 */
  multiplier?: number;
  /** @default 'full' */
  jitter?: Jitter;
}

/** A retry policy with every field filled in (`config.defaultRetry`, and each job's after `register`). */
export type RetryPolicy = Readonly<Required<RetryOptions>>;

export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  maxRetries: 3,
  strategy: 'exponential',
  initialDelayMs: 1000,
  maxDelayMs: 30_000,
  multiplier: 2,
  jitter: 'full',
});

/** A policy with no retries, used for `retry: false`. */
export const NO_RETRY_POLICY: RetryPolicy = Object.freeze({ ...DEFAULT_RETRY_POLICY, maxRetries: 0 });

const STRATEGIES: readonly BackoffStrategy[] = ['exponential', 'linear', 'fixed'];
const JITTERS: readonly Jitter[] = ['none', 'full', 'equal'];

/**
 * Fills defaults and checks every field; returns the policy and the list of
 * problems (empty when valid), each naming the field.
 */
export function resolveRetryPolicy(
  options: RetryOptions | false | undefined,
  base: RetryPolicy = DEFAULT_RETRY_POLICY,
): { policy: RetryPolicy; problems: string[] } {
  if (options === false) return { policy: NO_RETRY_POLICY, problems: [] };
  if (options === undefined) return { policy: base, problems: [] };
  const problems: string[] = [];
  if (typeof options !== 'object' || options === null) {
    return { policy: base, problems: ['retry must be an object or false'] };
  }
  const policy = { ...base, ...definedOnly(options) };
  if (!Number.isInteger(policy.maxRetries) || policy.maxRetries < 0 || policy.maxRetries > 1000) {
    problems.push('retry.maxRetries must be an integer from 0 to 1000');
  }
  if (!STRATEGIES.includes(policy.strategy)) problems.push(`retry.strategy must be one of ${STRATEGIES.join(', ')}`);
  if (!JITTERS.includes(policy.jitter)) problems.push(`retry.jitter must be one of ${JITTERS.join(', ')}`);
  if (!isNonNegativeFinite(policy.initialDelayMs)) problems.push('retry.initialDelayMs must be a finite number >= 0');
  if (!isNonNegativeFinite(policy.maxDelayMs)) problems.push('retry.maxDelayMs must be a finite number >= 0');
  else if (isNonNegativeFinite(policy.initialDelayMs) && policy.maxDelayMs < policy.initialDelayMs) {
    problems.push('retry.maxDelayMs must be >= retry.initialDelayMs');
  }
  if (typeof policy.multiplier !== 'number' || !Number.isFinite(policy.multiplier) || policy.multiplier < 1) {
    problems.push('retry.multiplier must be a finite number >= 1');
  }
  return { policy: Object.freeze(policy), problems };
}

/**
 * The delay before retry number `retry` (1 for the first retry), capped at
 * `maxDelayMs`, with jitter applied:
 * - exponential: `initial * multiplier^(retry-1)`
 * - linear: `initial * retry`
 * - fixed: `initial`
 * - jitter `full`: uniform in [0, d]; `equal`: d/2 + uniform in [0, d/2]; `none`: d.
 *
 * @param random returns a number in [0, 1); injected so tests can pin it.
 */
export function retryDelayMs(policy: RetryPolicy, retry: number, random: () => number = Math.random): number {
  // NaN and anything below 1 mean the first retry (Math.max(1, NaN) is NaN).
  const n = retry >= 1 ? Math.floor(retry) : 1;
  let base: number;
  switch (policy.strategy) {
    case 'exponential':
      base = policy.initialDelayMs * Math.pow(policy.multiplier, n - 1);
      break;
    case 'linear':
      base = policy.initialDelayMs * n;
      break;
    case 'fixed':
      base = policy.initialDelayMs;
      break;
  }
  // Infinity (huge exponents) is capped like any other large delay; a zero
  // initial delay times Infinity is NaN, and means 0.
  const capped = base > 0 ? Math.min(base, policy.maxDelayMs) : 0;
  switch (policy.jitter) {
    case 'none':
      return capped;
    case 'full':
      return Math.floor(random() * capped);
    case 'equal':
      return Math.floor(capped / 2 + random() * (capped / 2));
  }
}

function isNonNegativeFinite(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
